import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnvironment } from "../../src/config/index.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { KilnHarness, newWebhookSecret } from "../support/kiln-harness.js";
import { until } from "../support/until.js";
import { verifiedBySvix, type ReceivedWebhook } from "../support/webhook-receiver.js";

const silent = createLogger({ level: "silent" });

function verifiedByStandardWebhooks(hook: Pick<ReceivedWebhook, "body" | "headers">, secret: string): boolean {
  try {
    new StandardWebhook(secret).verify(hook.body, hook.headers);
    return true;
  } catch {
    return false;
  }
}

/** Both verifiers agree that `secret` alone verifies the delivery (or both that it does not). */
function verifiedAlone(hook: ReceivedWebhook, secret: string): boolean {
  const [standard, svix] = [verifiedByStandardWebhooks(hook, secret), verifiedBySvix(hook, secret)];
  expect(standard, "standardwebhooks and svix disagree").toBe(svix);
  return standard;
}

/** A `whsk_` key as Standard Webhooks writes it (seed, then public key), and the `whpk_` of its public key. */
function newSigningKey(): { whsk: string; whpk: string } {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const [seed, x] = [Buffer.from(jwk.d!, "base64url"), Buffer.from(jwk.x!, "base64url")];
  return { whsk: `whsk_${Buffer.concat([seed, x]).toString("base64")}`, whpk: `whpk_${x.toString("base64")}` };
}

/** What a receiver builds from a `whpk_` key it fetched. */
function publicKeyOf(whpk: string): KeyObject {
  const x = Buffer.from(whpk.slice("whpk_".length), "base64").toString("base64url");
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
}

/** The delivery's `v1a` signatures that `key` verifies, by node's crypto. */
function v1aVerifiedBy(hook: ReceivedWebhook, key: KeyObject): number {
  const content = Buffer.from(`${hook.headers["webhook-id"]}.${hook.headers["webhook-timestamp"]}.${hook.body}`);
  return (hook.headers["webhook-signature"] ?? "")
    .split(" ")
    .filter((s) => s.startsWith("v1a,"))
    .filter((s) => verify(null, content, key, Buffer.from(s.slice("v1a,".length), "base64"))).length;
}

const schemesOf = (hook: ReceivedWebhook) => (hook.headers["webhook-signature"] ?? "").split(" ").map((s) => s.slice(0, s.indexOf(",")));

describe("during a rotation, every delivery verifies with the old secret alone and with the new one alone", () => {
  const h = new KilnHarness();
  const global = { old: newWebhookSecret(), new: newWebhookSecret() };
  const studio = { old: newWebhookSecret(), new: newWebhookSecret() };
  const own = { old: newWebhookSecret(), new: newWebhookSecret() };
  const keys = { old: newSigningKey(), new: newSigningKey() };
  let http: RunningHttpServer;
  /** The delivery of each kind of job, once delivered. */
  const hooks = {} as Record<"global" | "studio" | "own", ReceivedWebhook>;

  beforeAll(async () => {
    await h.start({
      archive: "local",
      env: {
        // the harness's KILN_WEBHOOK_SECRET, unset: an empty variable counts as none
        KILN_WEBHOOK_SECRET: "",
        KILN_WEBHOOK_SECRETS: `${global.new},${global.old}`,
        KILN_TENANT_WEBHOOK_SECRETS: `studio:${studio.new},studio:${studio.old}`,
        KILN_WEBHOOK_SIGNING_KEYS: `${keys.new.whsk},${keys.old.whsk}`,
      },
    });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    const ids = {
      global: await h.client.enqueue(h.request("hy-image-v3.0")),
      studio: await h.client.enqueue({ ...h.request("hy-image-v3.0"), tenant: "studio" }),
      own: await h.client.enqueue(h.request("hy-image-v3.0", {}, { webhook: { url: h.receiver.url, secrets: [own.new, own.old] } })),
    };
    await h.receiver.waitFor(() => Object.values(ids).every((id) => h.receiver.of(id).length > 0));
    for (const [kind, id] of Object.entries(ids)) hooks[kind as keyof typeof hooks] = h.receiver.of(id)[0]!;
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it.each(["global", "studio", "own"] as const)(
    "%s secrets: a v1 signature of each, newest first; standardwebhooks and svix verify with either alone, not with another scope's",
    (kind) => {
      const hook = hooks[kind];
      const secrets = { global, studio, own }[kind];
      expect(schemesOf(hook)).toEqual(["v1", "v1", "v1a", "v1a"]);
      expect(verifiedAlone(hook, secrets.old)).toBe(true);
      expect(verifiedAlone(hook, secrets.new)).toBe(true);
      const others = [global, studio, own].filter((s) => s !== secrets).flatMap((s) => [s.old, s.new]);
      for (const other of others) expect(verifiedAlone(hook, other)).toBe(false);
    },
  );

  it("v1a: the receiver fetches the public keys from GET /v1/webhooks/public-keys (no token) and verifies each delivery with either", async () => {
    const answer = await fetch(new URL("/v1/webhooks/public-keys", http.url));
    expect(answer.status).toBe(200);
    const { keys: served } = (await answer.json()) as { keys: Array<{ publicKey: string; scheme: string }> };
    expect(served).toEqual([
      { publicKey: keys.new.whpk, scheme: "v1a" },
      { publicKey: keys.old.whpk, scheme: "v1a" },
    ]);
    const [newest, oldest] = served.map((k) => publicKeyOf(k.publicKey)) as [KeyObject, KeyObject];
    const stranger = publicKeyOf(newSigningKey().whpk);
    for (const hook of Object.values(hooks)) {
      // one v1a signature per key, whichever secrets sign the v1 ones
      expect([v1aVerifiedBy(hook, newest), v1aVerifiedBy(hook, oldest), v1aVerifiedBy(hook, stranger)]).toEqual([1, 1, 0]);
    }
  });
});

describe("a receiver switched from the old secret to the new one mid-stream sees no gap", () => {
  const h = new KilnHarness();
  const global = { old: newWebhookSecret(), new: newWebhookSecret() };
  const studio = { old: newWebhookSecret(), new: newWebhookSecret() };
  /** The secrets the receiver holds now, per scope: it verifies with these alone. */
  const held = { global: global.old, studio: studio.old };
  /** Every attempt the receiver saw, with the secret it held then. */
  const seen: Array<{ hook: Omit<ReceivedWebhook, "answeredWith">; secret: string; phase: string }> = [];
  let phase = "old";

  /** Restarts the workers with the secrets of a step of the rotation (as a deploy would). */
  const restartWorkers = async (env: Record<string, string>) => {
    await h.workers?.close();
    h.workers = await startKilnWorkers(loadEnvironment({ ...h.rawEnv, ...env }), silent, {
      webhookSchedule: [100, 200, 400],
      rawEnv: h.rawEnv,
    });
  };

  beforeAll(async () => {
    await h.start({
      archive: "local",
      workers: false,
      env: { KILN_WEBHOOK_SECRET: global.old, KILN_TENANT_WEBHOOK_SECRETS: `studio:${studio.old}` },
    });
    // a delivery it cannot verify with what it holds is refused (401), so a gap would show as a refusal and a retry
    h.receiver.status = (hook) => {
      const secret = hook.payload.data.tenant === "studio" ? held.studio : held.global;
      seen.push({ hook, secret, phase });
      return verifiedByStandardWebhooks(hook, secret) ? 204 : 401;
    };
    await restartWorkers({});
  });
  afterAll(() => h.close());

  it("old alone, then new and old (the receiver switches), then new alone: every attempt verifies with the secret held then", async () => {
    const jobs: string[] = [];
    let enqueueing = true;
    // producers keep enqueueing through every restart, as they would during a deploy
    const stream = (async () => {
      for (let n = 0; enqueueing; n++) {
        jobs.push(await h.client.enqueue({ ...h.request("hy-image-v3.0"), ...(n % 2 === 0 ? { tenant: "studio" } : {}) }));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const deliveredIn = (name: string, count: number) =>
      until(`${count} deliveries in phase ${name}`, () => seen.filter((s) => s.phase === name).length >= count);

    await deliveredIn("old", 4);
    phase = "both";
    await restartWorkers({
      KILN_WEBHOOK_SECRET: "",
      KILN_WEBHOOK_SECRETS: `${global.new},${global.old}`,
      KILN_TENANT_WEBHOOK_SECRETS: `studio:${studio.new},studio:${studio.old}`,
    });
    await deliveredIn("both", 4);
    // every worker signs with both now: the receiver moves to the new secrets
    held.global = global.new;
    held.studio = studio.new;
    phase = "switched";
    await deliveredIn("switched", 4);
    phase = "new";
    await restartWorkers({
      KILN_WEBHOOK_SECRET: "",
      KILN_WEBHOOK_SECRETS: global.new,
      KILN_TENANT_WEBHOOK_SECRETS: `studio:${studio.new}`,
    });
    await deliveredIn("new", 4);
    enqueueing = false;
    await stream;
    await h.receiver.waitFor(() => jobs.every((id) => h.receiver.of(id).length > 0), 30_000);

    expect(seen.filter((s) => !verifiedByStandardWebhooks(s.hook, s.secret)).map((s) => s.phase)).toEqual([]);
    expect(seen.filter((s) => !verifiedBySvix({ ...s.hook, answeredWith: 0 }, s.secret)).map((s) => s.phase)).toEqual([]);
    expect(h.receiver.received.filter((r) => r.answeredWith !== 204)).toEqual([]);
    // both scopes crossed every phase, and the old secrets stopped verifying once dropped
    for (const name of ["old", "both", "switched", "new"]) {
      const tenants = new Set(seen.filter((s) => s.phase === name).map((s) => s.hook.payload.data.tenant ?? "default"));
      expect([...tenants].sort(), name).toEqual(["default", "studio"]);
    }
    const last = seen.filter((s) => s.phase === "new").at(-1)!.hook;
    expect([global.old, studio.old].map((secret) => verifiedByStandardWebhooks(last, secret))).toEqual([false, false]);
  }, 90_000);
});
