import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tenantBudgetsOf, tenantSharesOf, tenantTokensOf, tenantWebhookSecretsOf } from "../../src/config/index.js";
import { formatDecimal } from "../../src/billing/decimal-amount.js";

const TOKEN_A = "token-a-0123456789abcdef";
const TOKEN_B = "token-b-0123456789abcdef";

describe("tenant-bound tokens and webhook secrets from the environment", () => {
  it("reads tenant:token pairs from KILN_API_TOKENS and KILN_API_TOKENS_FILE together; a tenant may have several tokens", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "kiln-tokens-")), "tokens");
    await writeFile(file, `# rotation: both work until the old one is removed\nstudio:${TOKEN_B}\n\n`);
    const tokens = tenantTokensOf({ KILN_API_TOKENS: ` studio:${TOKEN_A} , `, KILN_API_TOKENS_FILE: file });
    expect([...tokens]).toEqual([
      [TOKEN_A, "studio"],
      [TOKEN_B, "studio"],
    ]);
  });

  it("names the variable and the pair or line of each problem, never the token", async () => {
    expect(() => tenantTokensOf({ KILN_API_TOKENS: `studio:short,Bad:${TOKEN_A},${TOKEN_B}` })).toThrow(
      /KILN_API_TOKENS: pair 2: tenant must be 1-63 characters[^\n]*\n\s*KILN_API_TOKENS: pair 3: expected tenant:value/,
    );
    expect(() => tenantTokensOf({ KILN_API_TOKENS: "studio:short" })).toThrow(
      "KILN_API_TOKENS: pair 1: expected a token of at least 16 characters",
    );
    expect(() => tenantTokensOf({ KILN_API_TOKENS: `studio:${TOKEN_A},nightly:${TOKEN_A}` })).toThrow(
      "KILN_API_TOKENS: pair 2: the same token is bound to studio too",
    );
    const file = join(await mkdtemp(join(tmpdir(), "kiln-tokens-")), "tokens");
    await writeFile(file, `studio:${TOKEN_A}\nnightly ${TOKEN_B}\n`);
    expect(() => tenantTokensOf({ KILN_API_TOKENS_FILE: file })).toThrow("KILN_API_TOKENS_FILE: line 2: expected tenant:value");
    expect(() => tenantTokensOf({ KILN_API_TOKENS_FILE: join(file, "missing") })).toThrow(
      /KILN_API_TOKENS_FILE: cannot read .* \(ENOTDIR\)/,
    );
    // a token that fails its pair is never echoed: the message goes to logs and terminals
    let refused = "";
    try {
      tenantTokensOf({ KILN_API_TOKENS: "studio:shorttok123" });
    } catch (err) {
      refused = (err as Error).message;
    }
    expect(refused).toContain("pair 1: expected a token of at least 16 characters");
    expect(refused).not.toContain("shorttok123");
    // a bound token that is also an unbound one would see every tenant
    expect(() => tenantTokensOf({ KILN_API_TOKENS: `studio:${TOKEN_A}`, KILN_READ_TOKEN: TOKEN_A })).toThrow(
      "KILN_API_TOKENS: a token of studio is KILN_READ_TOKEN too; bound tokens must differ",
    );
  });

  it("KILN_TENANT_BUDGETS: tenant/period=amount entries, * for the rest; each problem named by its entry; KILN_PRICES required", () => {
    const budgets = tenantBudgetsOf({ KILN_TENANT_BUDGETS: "studio/daily=50, studio/monthly=1000.5,*/daily=10", KILN_PRICES: "p.yaml" });
    const shown = [...budgets].map(([t, l]) => [t, Object.fromEntries(Object.entries(l).map(([p, v]) => [p, formatDecimal(v)]))]);
    expect(Object.fromEntries(shown)).toEqual({ studio: { daily: "50.00", monthly: "1000.50" }, "*": { daily: "10.00" } });
    expect(() =>
      tenantBudgetsOf({ KILN_TENANT_BUDGETS: "studio/weekly=5,Bad/daily=1,studio:daily=1,x/daily=-1", KILN_PRICES: "p.yaml" }),
    ).toThrow(
      /entry 1: period must be daily or monthly\n\s*KILN_TENANT_BUDGETS: entry 2: tenant must be[^\n]*\n\s*KILN_TENANT_BUDGETS: entry 3: expected tenant\/period=amount[^\n]*\n\s*KILN_TENANT_BUDGETS: entry 4: expected a decimal amount/,
    );
    expect(() => tenantBudgetsOf({ KILN_TENANT_BUDGETS: "studio/daily=5,studio/daily=6", KILN_PRICES: "p.yaml" })).toThrow(
      "entry 2: studio/daily is set already",
    );
    expect(() => tenantBudgetsOf({ KILN_TENANT_BUDGETS: "studio/daily=5" })).toThrow("KILN_TENANT_BUDGETS: needs KILN_PRICES");
  });

  it("KILN_TENANT_WEBHOOK_SECRETS: whsec_ secrets per tenant; a tenant named again has several, newest first", () => {
    const [secret, older, oldest] = [0, 1, 2].map((i) => `whsec_${Buffer.alloc(24, i + 1).toString("base64")}`) as [string, string, string];
    expect([...tenantWebhookSecretsOf({ KILN_TENANT_WEBHOOK_SECRETS: `studio:${secret}` })]).toEqual([["studio", [secret]]]);
    expect([
      ...tenantWebhookSecretsOf({ KILN_TENANT_WEBHOOK_SECRETS: `studio:${secret},nightly:${oldest},studio:${older},studio:${oldest}` }),
    ]).toEqual([
      ["studio", [secret, older, oldest]],
      ["nightly", [oldest]],
    ]);
    expect(() => tenantWebhookSecretsOf({ KILN_TENANT_WEBHOOK_SECRETS: "studio:plain" })).toThrow(
      /KILN_TENANT_WEBHOOK_SECRETS: pair 1 \(studio\)/,
    );
    expect(() => tenantWebhookSecretsOf({ KILN_TENANT_WEBHOOK_SECRETS: `studio:${secret},studio:${secret}` })).toThrow(
      "KILN_TENANT_WEBHOOK_SECRETS: pair 2: studio has this secret already",
    );
  });

  it("KILN_TENANT_WEBHOOK_SECRETS: at most 5 secrets a tenant; an error names the pair and tenant, never the secret", () => {
    const six = Array.from({ length: 6 }, (_, i) => `whsec_${Buffer.alloc(32, i + 1).toString("base64")}`);
    const pairs = six.map((s) => `studio:${s}`).join(",");
    expect(tenantWebhookSecretsOf({ KILN_TENANT_WEBHOOK_SECRETS: pairs.split(",").slice(0, 5).join(",") }).get("studio")).toHaveLength(5);
    const messageOf = (value: string) => {
      try {
        tenantWebhookSecretsOf({ KILN_TENANT_WEBHOOK_SECRETS: value });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("expected a ConfigError");
    };
    const tooMany = messageOf(pairs);
    expect(tooMany).toContain("KILN_TENANT_WEBHOOK_SECRETS: pair 6: studio has 5 secrets already, the most a tenant may have");
    const bad = messageOf(`studio:${six[0]},studio:whsec_${six[1]!.slice(6, 20)}`);
    expect(bad).toContain("KILN_TENANT_WEBHOOK_SECRETS: pair 2 (studio): expected whsec_");
    for (const s of six) expect(tooMany + bad).not.toContain(s.slice(6, 20));
  });

  it("reads KILN_TENANT_WEIGHTS and KILN_TENANT_MAX_INFLIGHT, * for every other tenant; each bad entry is named", () => {
    const shares = tenantSharesOf({ KILN_TENANT_WEIGHTS: "interactive=4, *=0.5", KILN_TENANT_MAX_INFLIGHT: "bulk=20" });
    expect([...shares.weights]).toEqual([
      ["interactive", 4],
      ["*", 0.5],
    ]);
    expect([...shares.caps]).toEqual([["bulk", 20]]);
    expect(tenantSharesOf({})).toEqual({ weights: new Map(), caps: new Map() });
    expect(() => tenantSharesOf({ KILN_TENANT_WEIGHTS: "a=0,B=2,c=x,d=1,d=2,e" })).toThrow(
      new RegExp(
        [
          "KILN_TENANT_WEIGHTS: entry 1: expected a number above 0, at most 10000, such as 4, got 0",
          "KILN_TENANT_WEIGHTS: entry 2: tenant must be 1-63 characters",
          "KILN_TENANT_WEIGHTS: entry 3: expected a number above 0, at most 10000, such as 4, got x",
          "KILN_TENANT_WEIGHTS: entry 5: d is set already",
          "KILN_TENANT_WEIGHTS: entry 6: expected tenant=value, such as studio=4",
        ].join("[^]*"),
      ),
    );
    expect(() => tenantSharesOf({ KILN_TENANT_MAX_INFLIGHT: "bulk=2.5" })).toThrow(
      "KILN_TENANT_MAX_INFLIGHT: entry 1: expected a whole number of at least 1, got 2.5",
    );
  });
});
