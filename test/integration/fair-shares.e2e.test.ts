import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { InflightSlots, type InflightCaps } from "../../src/inflight/inflight-slots.js";
import { SlotHandoff } from "../../src/inflight/slot-handoff.js";
import pino from "pino";
import { cleanPrefix } from "../support/kiln-harness.js";
import { readFileSync } from "node:fs";
import { monitorRedis } from "../support/redis-monitor.js";
import { until } from "../support/until.js";

/** The slots script of the version before tenants, for a rolling upgrade: both run on the same keys. */
const BEFORE_TENANTS = readFileSync(new URL("../fixtures/slots-before-tenants.lua", import.meta.url), "utf8");

const MODEL = "hy-image-v3.0";

// The fair share of a contended cap, on the script itself against a real Redis: which tenant's
// job each freed slot goes to. The end-to-end goal (two worker processes, three partitions)
// is in tenant-fairness.e2e.
describe("InflightSlots: fair shares between tenants", () => {
  let redis: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"));
  });
  afterAll(async () => {
    for (const prefix of prefixes) await cleanPrefix(inject("redisUrl"), prefix);
    await redis.quit();
  });

  function slots(
    caps: Partial<InflightCaps> & { weights?: Record<string, number>; tenantCaps?: Record<string, number> },
    grantTtlMs = 60_000,
  ): InflightSlots {
    const prefix = `{fair-${randomUUID().slice(0, 8)}}`;
    prefixes.push(prefix);
    const tenants = { weights: new Map(Object.entries(caps.weights ?? {})), caps: new Map(Object.entries(caps.tenantCaps ?? {})) };
    return new InflightSlots(
      redis,
      prefix,
      "tokenhub",
      { provider: caps.provider, models: caps.models ?? new Map(), tenants, ...(caps.rate ? { rate: caps.rate } : {}) },
      grantTtlMs,
    );
  }

  /** Frees one slot after another (the holder's task ends) and lists who each went to, by tenant-prefixed id. */
  async function serve(s: InflightSlots, holders: string[], count: number): Promise<string[]> {
    const order: string[] = [];
    for (let i = 0; i < count; i++) {
      const granted = await s.release(holders.shift()!);
      expect(granted).toHaveLength(1);
      const next = granted[0]!;
      expect((await s.acquire(next, MODEL, 0, next.split("-")[0])).held).toBe(true);
      holders.push(next);
      order.push(next);
    }
    return order;
  }

  it("a tenant arriving behind another's backlog is served at the next free slot, then every other slot; FIFO within each", async () => {
    const s = slots({ provider: 2 });
    const holders = ["a-0", "a-1"];
    for (const id of holders) expect((await s.acquire(id, MODEL, 0, "a")).held).toBe(true);
    for (let i = 2; i < 40; i++) expect((await s.acquire(`a-${i}`, MODEL, i, "a")).held).toBe(false);
    expect(await serve(s, holders, 3)).toEqual(["a-2", "a-3", "a-4"]);
    // b comes later, its enqueue times later than all of a's: FIFO would serve it after 35 more of a's
    for (let i = 0; i < 3; i++) expect((await s.acquire(`b-${i}`, MODEL, 1_000 + i, "b")).held).toBe(false);
    expect(await s.waiting()).toBe(38);
    expect(await serve(s, holders, 7)).toEqual(["b-0", "a-5", "b-1", "a-6", "b-2", "a-7", "a-8"]);
  });

  it("weights set the shares while both wait: 3 to 1", async () => {
    const s = slots({ provider: 1, weights: { b: 3 } });
    const holders = ["x-0"];
    await s.acquire("x-0", MODEL, 0, "x");
    for (let i = 0; i < 20; i++) {
      await s.acquire(`a-${i}`, MODEL, i, "a");
      await s.acquire(`b-${i}`, MODEL, 100 + i, "b");
    }
    const order = await serve(s, holders, 16);
    expect(order.filter((id) => id.startsWith("b-"))).toHaveLength(12);
    expect(order.filter((id) => id.startsWith("a-"))).toEqual(["a-0", "a-1", "a-2", "a-3"]);
  });

  it("a tenant alone takes every slot, and time spent alone earns the other no debt and no credit", async () => {
    const s = slots({ provider: 3 });
    for (let i = 0; i < 3; i++) expect((await s.acquire(`a-${i}`, MODEL, i, "a")).held).toBe(true);
    const holders = ["a-0", "a-1", "a-2"];
    for (let i = 3; i < 30; i++) await s.acquire(`a-${i}`, MODEL, i, "a");
    // a alone: 10 more slots, all a's
    expect((await serve(s, holders, 10)).every((id) => id.startsWith("a-"))).toBe(true);
    // b was idle all along: it is served next, then shares equally (not 13 in a row to catch up)
    for (let i = 0; i < 5; i++) await s.acquire(`b-${i}`, MODEL, 500 + i, "b");
    expect(await serve(s, holders, 6)).toEqual(["b-0", "a-13", "b-1", "a-14", "b-2", "a-15"]);
  });

  it("KILN_TENANT_MAX_INFLIGHT holds a tenant to its cap while others use the rest; without a provider cap too", async () => {
    const capped = slots({ provider: 4, tenantCaps: { bulk: 1 } });
    expect((await capped.acquire("bulk-0", MODEL, 0, "bulk")).held).toBe(true);
    expect((await capped.acquire("bulk-1", MODEL, 1, "bulk")).held).toBe(false);
    for (let i = 0; i < 3; i++) expect((await capped.acquire(`web-${i}`, MODEL, 10 + i, "web")).held).toBe(true);
    expect(await capped.tenants()).toEqual([
      { tenant: "bulk", inUse: 1, waiting: 1 },
      { tenant: "web", inUse: 3, waiting: 0 },
    ]);
    // a free slot goes to bulk's next only once bulk's own task ends
    expect(await capped.release("web-0")).toEqual([]);
    expect(await capped.release("bulk-0")).toEqual(["bulk-1"]);

    const only = slots({ tenantCaps: { "*": 2 } });
    expect(only.uncapped(MODEL, "bulk")).toBe(false);
    expect((await only.acquire("bulk-0", MODEL, 0, "bulk")).held).toBe(true);
    expect((await only.acquire("bulk-1", MODEL, 1, "bulk")).held).toBe(true);
    expect((await only.acquire("bulk-2", MODEL, 2, "bulk")).held).toBe(false);
    expect((await only.acquire("web-0", MODEL, 3, "web")).held).toBe(true);
    expect(await only.release("bulk-0")).toEqual(["bulk-2"]);
  });

  it("a slot handed to a tenant's job that never claims it lapses back to that job, ahead of the other tenant", async () => {
    const s = slots({ provider: 1 }, 300);
    await s.acquire("a-0", MODEL, 0, "a");
    for (let i = 1; i < 5; i++) await s.acquire(`a-${i}`, MODEL, i, "a");
    await s.acquire("b-0", MODEL, 100, "b");
    await s.acquire("b-1", MODEL, 101, "b");
    // a-0 ends: b-0 is handed the slot (b is behind in service) and its waker crashes
    expect(await s.release("a-0")).toEqual(["b-0"]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // lapsed: b-0 goes back to the head of b's lane with b's turn refunded, and is handed the slot again
    expect((await s.sweep()).granted).toEqual(["b-0"]);
    expect((await s.acquire("b-0", MODEL, 100, "b")).held).toBe(true);
    expect(await s.release("b-0")).toEqual(["a-1"]);
  });

  it("a tenant's waiting jobs that leave (cancelled) leave its turn to the others; only tenants at work are kept", async () => {
    const s = slots({ provider: 1 });
    await s.acquire("x-0", MODEL, 0, "x");
    await s.acquire("a-0", MODEL, 1, "a");
    await s.acquire("b-0", MODEL, 2, "b");
    expect(await s.release("a-0")).toEqual([]);
    expect(await s.release("x-0")).toEqual(["b-0"]);
    expect(await s.tenants()).toEqual([{ tenant: "b", inUse: 1, waiting: 0 }]);
    // a tenant neither holding nor waiting leaves no pass behind: tenants made up by producers do not pile up
    await s.release("b-0");
    expect((await redis.hkeys(`${prefixes.at(-1)}:inflight:tokenhub:passes`)).filter((key) => key !== "*")).toEqual([]);
  });

  it("a tenant blocked by a full model earns no credit meanwhile: once it can run, it shares, it does not take every slot", async () => {
    const s = slots({ provider: 2, models: new Map([["HY_VIDEO_1_5", 1]]) });
    await s.acquire("b-video", "hy-video-1.5", 0, "b");
    await s.acquire("a-video", "hy-video-1.5", 1, "a");
    const holders = ["b-video"];
    expect((await s.acquire("b-0", MODEL, 2, "b")).held).toBe(true);
    holders.push("b-0");
    for (let i = 1; i < 30; i++) await s.acquire(`b-${i}`, MODEL, 2 + i, "b");
    // b's image slot turns over 10 times while a waits behind the full video model
    holders.shift();
    const order: string[] = [];
    for (let i = 0; i < 10; i++) {
      const granted = await s.release(holders.shift()!);
      await s.acquire(granted[0]!, MODEL, 0, "b");
      holders.push(granted[0]!);
      order.push(granted[0]!);
    }
    expect(order.every((id) => id.startsWith("b-"))).toBe(true);
    for (let i = 0; i < 10; i++) await s.acquire(`a-${i}`, MODEL, 100 + i, "a");
    // served from the pass b was last served at (ties go by name): without that, a would take the next 10
    const next = await serve(s, holders, 6);
    expect(next.filter((id) => id.startsWith("a-"))).toEqual(["a-0", "a-1", "a-2", "a-3"]);
  });

  it("shares the keys with the version before tenants during a rolling upgrade: its releases and grants leave nothing stuck", async () => {
    const s = slots({ provider: 2, tenantCaps: { a: 1 } }, 300);
    const prefix = prefixes.at(-1)!;
    const P = `${prefix}:inflight:tokenhub`;
    const before = (op: string, jobId: string) =>
      redis.eval(BEFORE_TENANTS, 4, `${P}:grants`, `${P}:seq`, P, `${P}:waiting`, Date.now(), 2, 300, op, jobId, 0, 0, Date.now() + 60_000);
    // acquired by this version, given back by an earlier one: its tenant holder entry is left behind
    expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(true);
    await before("release", "a-0");
    expect((await s.acquire("a-1", MODEL, 1, "a")).held).toBe(false);
    // the sweep finds the stale entry once its lease is over, and the job behind it runs
    await redis.zadd(`${P}:tenant:a`, 0, "a-0");
    expect(await s.lapsed()).toEqual(["a-0"]);
    expect((await s.reclaim("a-0")).granted).toEqual(["a-1"]);
    expect((await s.acquire("a-1", MODEL, 1, "a")).held).toBe(true);
    // a slot the earlier version hands to a default-tenant job is claimed here, though another waits behind it
    await s.release("a-1");
    for (const [id, at] of [
      ["d-0", 10],
      ["d-1", 11],
    ] as const)
      expect((await s.acquire(id, MODEL, at, "default")).held).toBe(true);
    for (const [id, at] of [
      ["d-2", 12],
      ["d-3", 13],
    ] as const)
      expect((await s.acquire(id, MODEL, at, "default")).held).toBe(false);
    expect(await before("release", "d-0")).toEqual([0, "d-2"]);
    expect((await s.acquire("d-2", MODEL, 12, "default")).held).toBe(true);
    // and a grant of this version that lapses is put back in place by the earlier one
    expect(await s.release("d-1")).toEqual(["d-3"]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await before("sweep", "")).toEqual([0, "d-3"]);
    expect(await redis.keys(`${P}:waiting*`)).toEqual([]);
  });

  describe("behind a provider's rate", () => {
    const rated = (weights: Record<string, number> = {}) => slots({ rate: { max: 2, windowMs: 300 }, weights });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it("polls take the window's room whenever there is some; a submit takes it only with nobody waiting ahead", async () => {
      const s = rated();
      expect(s.uncapped(MODEL, "a")).toBe(false);
      expect(s.holdsSlot(MODEL, "a")).toBe(false);
      expect((await s.request("poll-1")).waitMs).toBe(0);
      await sleep(150);
      expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(true);
      // the window is full: the next submit waits, the next poll is told how long until there is room
      expect((await s.acquire("a-1", MODEL, 1, "a")).held).toBe(false);
      const wait = (await s.request("poll-2")).waitMs;
      expect(wait).toBeGreaterThan(50);
      expect(wait).toBeLessThanOrEqual(150);
      // a timer may fire a millisecond before the window's clock says the room is free
      await sleep(wait + 5);
      // room for one again: the poll takes it, though a submit waited before it
      expect((await s.request("poll-2")).waitMs).toBe(0);
      expect((await s.sweep()).granted).toEqual([]);
      await sleep(200);
      expect((await s.sweep()).granted).toEqual(["a-1"]);
      // a submit that may go holds nothing afterwards: no slot to give back
      expect((await s.acquire("a-1", MODEL, 1, "a")).held).toBe(true);
      expect(await s.inUse()).toBe(0);
      expect(await s.waiting()).toBe(0);
    });

    it("a poll that takes room reads the share of the window still free after it; a refused one reads none", async () => {
      const s = slots({ rate: { max: 4, windowMs: 300 } });
      expect(await s.request("p-1")).toEqual({ waitMs: 0, spare: 0.75 });
      expect(await s.request("p-2")).toEqual({ waitMs: 0, spare: 0.5 });
      expect(await s.request("p-3")).toEqual({ waitMs: 0, spare: 0.25 });
      expect(await s.request("p-4")).toEqual({ waitMs: 0, spare: 0 });
      const refused = await s.request("p-5");
      expect(refused.waitMs).toBeGreaterThan(0);
      expect(refused.spare).toBeUndefined();
      // without a rate there is no window to read
      expect(await slots({}).request("p-6")).toEqual({ waitMs: 0 });
    });

    it("the hand-off keeps what the window had to spare at its polls, for the poll schedule", async () => {
      const handoff = new SlotHandoff(slots({ rate: { max: 4, windowMs: 300 } }), async () => undefined, pino({ level: "silent" }));
      expect(handoff.spareRate()).toBeUndefined();
      expect(await handoff.request("p-1", "default")).toBe(0);
      expect(handoff.spareRate()).toBe(0.75);
      for (const id of ["p-2", "p-3", "p-4"]) await handoff.request(id, "default");
      expect(await handoff.request("p-5", "default")).toBeGreaterThan(0);
      // four readings after the first (0.5, 0.25, 0, and none for the refused poll) pull it down
      expect(handoff.spareRate()).toBeLessThan(0.7);
      const unrated = new SlotHandoff(slots({}), async () => undefined, pino({ level: "silent" }));
      await unrated.request("p-6", "default");
      expect(unrated.spareRate()).toBeUndefined();
    });

    it("a grant claimed after its room has left the window needs room again, or goes back to the head of its lane", async () => {
      const s = slots({ rate: { max: 1, windowMs: 200 } });
      await s.request("poll-1");
      expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(false);
      await sleep(220);
      expect((await s.sweep()).granted).toEqual(["a-0"]);
      // a-0's job is held up (a 429's pause) past the window; a poll takes the room meanwhile
      await sleep(220);
      expect((await s.request("poll-2")).waitMs).toBe(0);
      expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(false);
      expect(await s.waiting()).toBe(1);
      await sleep(220);
      expect((await s.sweep()).granted).toEqual(["a-0"]);
      expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(true);
    });

    it("the pump goes on only while the rate holds submits back, not while they wait for a cap", async () => {
      const s = slots({ provider: 1, rate: { max: 10, windowMs: 1000 } });
      expect((await s.acquire("x-0", MODEL, 0, "x")).held).toBe(true);
      expect((await s.acquire("a-0", MODEL, 1, "a")).held).toBe(false);
      expect(await s.sweep()).toEqual({ granted: [], waiting: false });
    });

    it("while submits wait, polls leave them a quarter of the window", async () => {
      const s = slots({ rate: { max: 8, windowMs: 300 } });
      // nobody waits to submit: polls may fill the whole window
      for (let i = 0; i < 8; i++) expect((await s.request(`early-${i}`)).waitMs).toBe(0);
      expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(false);
      await sleep(320);
      // a submit waits now: polls stop at 6 of 8, the other 2 are the submits'; none of it is spare
      // for the poll schedule, though the window has room: the waiting submit is handed it next
      for (let i = 0; i < 6; i++) expect(await s.request(`poll-${i}`)).toEqual({ waitMs: 0, spare: 0 });
      expect((await s.request("poll-6")).waitMs).toBeGreaterThan(0);
      expect((await s.sweep()).granted).toEqual(["a-0"]);
      expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(true);
    });

    it("the submits' share is a quarter of the window, floored: 2 of 11", async () => {
      const s = slots({ rate: { max: 11, windowMs: 300 } });
      for (let i = 0; i < 11; i++) expect((await s.request(`early-${i}`)).waitMs).toBe(0);
      expect((await s.acquire("a-0", MODEL, 0, "a")).held).toBe(false);
      await sleep(320);
      for (let i = 0; i < 9; i++) expect((await s.request(`poll-${i}`)).waitMs).toBe(0);
      expect((await s.request("poll-9")).waitMs).toBeGreaterThan(0);
    });

    it("while polls wait in line, submits leave a place for each, up to the polls' share of the window", async () => {
      const s = slots({ rate: { max: 8, windowMs: 300 } });
      for (let i = 0; i < 8; i++) expect((await s.acquire(`a-${i}`, MODEL, i, "a")).held).toBe(true);
      for (let i = 8; i < 24; i++) expect((await s.acquire(`a-${i}`, MODEL, i, "a")).held).toBe(false);
      // the window is full of submits: a poll is refused and waits in line
      expect((await s.request("poll-0")).waitMs).toBeGreaterThan(0);
      await sleep(320);
      const granted: string[] = [];
      for (let i = 0; i < 8; i++) granted.push(...(await s.sweep()).granted);
      // 7 submits: one place is the waiting poll's, the rest would go unused until its turn
      expect(granted).toEqual(["a-8", "a-9", "a-10", "a-11", "a-12", "a-13", "a-14"]);
      expect((await s.request("poll-0")).waitMs).toBe(0);
      // more polls in line than the polls' share: the submits keep their quarter, 2 of 8
      const t = slots({ rate: { max: 8, windowMs: 300 } });
      for (let i = 0; i < 16; i++) await t.acquire(`b-${i}`, MODEL, i, "a");
      for (let i = 0; i < 8; i++) expect((await t.request(`q-${i}`)).waitMs).toBeGreaterThan(0);
      await sleep(320);
      const later: string[] = [];
      for (let i = 0; i < 8; i++) later.push(...(await t.sweep()).granted);
      expect(later).toEqual(["b-8", "b-9"]);
    });

    it("a tenant's polls yield the window to a tenant behind it in the fair share, whose submits leave them no place", async () => {
      const s = slots({ rate: { max: 8, windowMs: 300 }, weights: { web: 20 } });
      for (let i = 0; i < 24; i++) await s.acquire(`b-${i}`, MODEL, i, "bulk");
      await sleep(320);
      // bulk submits a window's worth from its line (8 more requests charged to it)
      const bulk: string[] = [];
      for (let i = 0; i < 8; i++) bulk.push(...(await s.sweep()).granted);
      expect(bulk).toHaveLength(8);
      // bulk's poll meets a full window and waits in line; web arrives, behind bulk
      expect((await s.request("bulk-poll-0", "bulk", 0.9)).waitMs).toBeGreaterThan(0);
      for (let i = 0; i < 8; i++) expect((await s.acquire(`w-${i}`, MODEL, 100 + i, "web")).held).toBe(false);
      await sleep(320);
      // room for 8: bulk's poll likely to find its task done still yields to web, and web's
      // submits keep no place for bulk's polls in line
      expect((await s.request("bulk-poll-1", "bulk", 0.9)).waitMs).toBeGreaterThan(0);
      const web: string[] = [];
      for (let i = 0; i < 8; i++) web.push(...(await s.sweep()).granted);
      expect(web).toEqual(["w-0", "w-1", "w-2", "w-3", "w-4", "w-5", "w-6", "w-7"]);
      // web has nothing left to submit: bulk's polls go first again, its submits keep their places
      for (const id of web) expect((await s.acquire(id, MODEL, 0, "web")).held).toBe(true);
      await sleep(320);
      expect((await s.request("bulk-poll-0", "bulk", 0.9)).waitMs).toBe(0);
      expect((await s.request("bulk-poll-1", "bulk", 0.9)).waitMs).toBe(0);
    });

    it("polls yield only to a tenant behind that could submit now: not to one held back by its own cap", async () => {
      const s = slots({ rate: { max: 8, windowMs: 300 }, tenantCaps: { web: 1 } });
      for (let i = 0; i < 8; i++) expect((await s.acquire(`b-${i}`, MODEL, i, "bulk")).held).toBe(true);
      for (let i = 8; i < 12; i++) expect((await s.acquire(`b-${i}`, MODEL, i, "bulk")).held).toBe(false);
      await sleep(320);
      expect((await s.acquire("w-0", MODEL, 100, "web")).held).toBe(true);
      expect((await s.acquire("w-1", MODEL, 101, "web")).held).toBe(false);
      // web waits behind bulk in the fair share, but at its own cap: bulk's polls go on
      expect((await s.request("bulk-poll-0", "bulk", 0.9)).waitMs).toBe(0);
    });

    /** The commands the slots script ran on `prefix`'s keys while `action` ran (other tests' keys left out). */
    async function scriptCommands(prefix: string, action: () => Promise<unknown>): Promise<number> {
      const watch = await monitorRedis(inject("redisUrl"));
      await action();
      const marker = randomUUID();
      await redis.echo(marker);
      await until("the monitor's copy of the marker", () => watch.commands.some((c) => c.args[1] === marker), 10_000);
      await watch.stop();
      return watch.commands.filter((c) => c.client === "lua" && c.args.slice(1).some((a) => a.startsWith(prefix))).length;
    }

    it("a poll's turn, the pump and a release touch a few tenants' lines, however many tenants have polls in line", async () => {
      // behind a rate alone: a job that may submit keeps no owner, its release names its tenant
      const s = slots({ rate: { max: 4, windowMs: 60_000 } });
      const prefix = prefixes.at(-1)!;
      const line = (tenant?: string) => `${prefix}:inflight:tokenhub:rate:polls${tenant ? `:${tenant}` : ""}`;
      // k submits and its poll meets a full window, then 300 other tenants' polls do
      expect((await s.acquire("k", MODEL, 0, "t-k")).held).toBe(true);
      for (const id of ["x-0", "x-1", "x-2"]) expect((await s.request(id, "x")).waitMs).toBe(0);
      expect((await s.request("k", "t-k")).waitMs).toBeGreaterThan(0);
      for (let i = 0; i < 300; i++) expect((await s.request(`p-${i}`, `t${i}`)).waitMs).toBeGreaterThan(0);
      // a refused poll of one more tenant: its own line, not the 301 others
      expect(await scriptCommands(prefix, async () => expect((await s.request("probe", "t-new")).waitMs).toBeGreaterThan(0))).toBeLessThan(
        50,
      );
      // each line expires once its last poll is stale: a tenant gone quiet leaves nothing behind
      expect(await redis.pttl(line("t-new"))).toBeGreaterThan(25_000);
      // k's job fails: it leaves its tenant's line, found by the tenant its release names, not by looking in every line
      expect(await scriptCommands(prefix, () => s.release("k", "t-k"))).toBeLessThan(50);
      expect(await redis.zscore(line("t-k"), "k")).toBeNull();
      expect(await redis.zscore(line(), "k")).toBeNull();
      // its tenant not known (an earlier version's release): it still leaves, by the longer way
      await s.release("p-7");
      expect(await redis.zscore(line("t7"), "p-7")).toBeNull();
      // a tenant waits to submit: the pump's room check counts the polls of tenants ahead of it only
      expect((await s.acquire("a-0", MODEL, 1, "a")).held).toBe(false);
      expect(await scriptCommands(prefix, () => s.sweep())).toBeLessThan(50);
      // the others' polls keep their places
      expect(await redis.zcard(line())).toBe(300);
    });

    it("refused polls wait in line: each is told a later turn, and one refused later does not go first", async () => {
      const s = rated();
      expect((await s.request("p-1")).waitMs).toBe(0);
      expect((await s.request("p-2")).waitMs).toBe(0);
      const turns = [];
      for (const id of ["p-3", "p-4", "p-5", "p-6", "p-7"]) turns.push((await s.request(id)).waitMs);
      // the first when the window has room, each next one poll's share of the window (150 ms) later
      // (less the few ms between the calls)
      expect(turns[0]).toBeGreaterThan(150);
      for (let i = 1; i < turns.length; i++) expect(turns[i]! - turns[i - 1]!).toBeGreaterThan(100);
      await sleep(310);
      // room for two: the last in line is refused (four ahead of it), the first two go
      expect((await s.request("p-7")).waitMs).toBeGreaterThan(0);
      expect((await s.request("p-3")).waitMs).toBe(0);
      expect((await s.request("p-4")).waitMs).toBe(0);
      // a poll whose job ends leaves the line: the one behind it moves up
      const before = (await s.request("p-7")).waitMs;
      await s.release("p-5");
      expect((await s.request("p-7")).waitMs).toBeLessThan(before);
    });

    it("in the line of refused polls, a poll likely to find its task done stands ahead of unlikely ones refused before it", async () => {
      const s = rated();
      await s.request("p-1");
      await s.request("p-2");
      const unlikely = [];
      for (const id of ["u-1", "u-2", "u-3", "u-4"]) unlikely.push((await s.request(id, "default", 0.05)).waitMs);
      // refused last, told the first turn: no unlikely poll stands ahead of it
      const likely = (await s.request("likely", "default", 0.95)).waitMs;
      expect(likely).toBeLessThan(unlikely[1]!);
      await sleep(310);
      // room for two: the last unlikely poll has four ahead of it now, the likely one none
      expect((await s.request("u-4", "default", 0.05)).waitMs).toBeGreaterThan(0);
      expect((await s.request("likely", "default", 0.95)).waitMs).toBe(0);
    });

    it("the room a rate leaves is shared between waiting tenants, as slots are", async () => {
      const s = rated();
      await s.request("poll-1");
      await s.request("poll-2");
      for (let i = 0; i < 10; i++) await s.acquire(`a-${i}`, MODEL, i, "a");
      for (let i = 0; i < 3; i++) await s.acquire(`b-${i}`, MODEL, 100 + i, "b");
      const order: string[] = [];
      while (order.length < 6) {
        await sleep(160);
        const { granted, waiting } = await s.sweep();
        expect(waiting).toBe(true);
        // each claim hands over what room is left too, as every call does
        for (let i = 0; i < granted.length; i++) {
          const claim = await s.acquire(granted[i]!, MODEL, 0, granted[i]!.split("-")[0]);
          expect(claim.held).toBe(true);
          granted.push(...claim.granted);
        }
        order.push(...granted);
      }
      expect(order.slice(0, 6)).toEqual(["a-0", "b-0", "a-1", "b-1", "a-2", "b-2"]);
    });
  });
});
