import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { BudgetLedger } from "../../src/billing/budget-ledger.js";
import { parseDecimal } from "../../src/billing/decimal-amount.js";
import { cleanPrefix } from "../support/kiln-harness.js";

const LATER = Date.now() + 3_600_000;
const d = (text: string) => parseDecimal(text)!;

describe("BudgetLedger", () => {
  let redis: Redis;
  let other: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"));
    other = new Redis(inject("redisUrl"));
  });
  afterAll(async () => {
    for (const prefix of prefixes) await cleanPrefix(inject("redisUrl"), prefix);
    await Promise.all([redis.quit(), other.quit()]);
  });

  function prefix(): string {
    const p = `{budget-${randomUUID().slice(0, 8)}}`;
    prefixes.push(p);
    return p;
  }

  it("reserves atomically across connections: exactly as many children as the budget holds, then none", async () => {
    const p = prefix();
    const a = new BudgetLedger(redis, p);
    const b = new BudgetLedger(other, p);
    await a.open("b1", d("0.70"), "CNY");
    // 30 children racing from two connections (two worker processes), 0.10 each: 7 fit
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).reserve("b1", `c${i}`, d("0.1"), LATER)));
    expect(answers.filter((x) => x === "reserved")).toHaveLength(7);
    expect(answers.filter((x) => x === "exhausted")).toHaveLength(23);
    expect(await a.read("b1")).toEqual({ limit: "0.70", currency: "CNY", spent: "0.00", reserved: "0.70", exhausted: true });
    // exhausted stays exhausted, even for a child cheap enough to fit after a settle
    const held = answers.findIndex((x) => x === "reserved");
    await a.settle("b1", `c${held}`, d("0.05"));
    expect(await a.reserve("b1", "late", d("0.01"), LATER)).toBe("exhausted");
  });

  it("keeps a child's reservation across re-runs and settles it once, to its actual cost", async () => {
    const l = new BudgetLedger(redis, prefix());
    await l.open("b2", d("1"), "USD");
    // re-opening (a re-run of the manifest) keeps the first limit
    expect(await l.open("b2", d("5"), "USD")).toBe("1.00");
    expect(await l.reserve("b2", "c1", d("0.4"), LATER)).toBe("reserved");
    // a re-run after a crash between reserve and submit: the same hold, not a second one
    expect(await l.reserve("b2", "c1", d("0.4"), LATER)).toBe("reserved");
    expect((await l.read("b2"))?.reserved).toBe("0.40");
    await l.settle("b2", "c1", d("0.123456789"));
    await l.settle("b2", "c1", d("0.123456789"));
    expect(await l.read("b2")).toMatchObject({ spent: "0.123456789", reserved: "0.00", exhausted: false });
  });

  it("answers none for a batch without a budget, and unpriced for a child with no estimate on a budgeted one", async () => {
    const l = new BudgetLedger(redis, prefix());
    expect(await l.reserve("plain", "c1", d("1"), LATER)).toBe("none");
    expect(await l.reserve("plain", "c2", undefined, LATER)).toBe("none");
    await l.open("b3", d("1"), "USD");
    expect(await l.reserve("b3", "c1", undefined, LATER)).toBe("unpriced");
  });

  it("releases a hold whose job never came back once it expires, and still charges that job if it ends later", async () => {
    const l = new BudgetLedger(redis, prefix(), 0);
    await l.open("b4", d("1"), "USD");
    // a worker reserved, then crashed before submitting, and the job was removed: its hold expires
    expect(await l.reserve("b4", "lost", d("0.9"), Date.now() - 1)).toBe("reserved");
    expect(await l.reserve("b4", "next", d("0.5"), LATER)).toBe("reserved");
    expect(await l.read("b4")).toMatchObject({ reserved: "0.50", exhausted: false });
    await l.settle("b4", "lost", d("0.2"));
    expect(await l.read("b4")).toMatchObject({ spent: "0.20", reserved: "0.50" });
  });

  it("setLimit keeps an exhausted account exhausted at the same limit, and lifts it only when the limit is raised past what is used", async () => {
    const ledger = new BudgetLedger(redis, prefix(), undefined, (account) => `${prefixes.at(-1)}:tenants:${account}:budget`);
    await ledger.setLimit("t:daily:x", d("1"), "CNY");
    expect(await ledger.reserve("t:daily:x", "small", d("0.1"), LATER)).toBe("reserved");
    await ledger.settle("t:daily:x", "small", d("0.1"));
    // too big: refused, and the account is exhausted although 0.9 is left
    expect(await ledger.reserve("t:daily:x", "big", d("1"), LATER)).toBe("exhausted");
    await ledger.setLimit("t:daily:x", d("1"), "CNY");
    expect((await ledger.read("t:daily:x"))?.exhausted).toBe(true);
    expect(await ledger.reserve("t:daily:x", "small-2", d("0.1"), LATER)).toBe("exhausted");
    // a lowered limit changes nothing either; a raised one past spent + reserved lifts it
    await ledger.setLimit("t:daily:x", d("0.5"), "CNY");
    expect((await ledger.read("t:daily:x"))?.exhausted).toBe(true);
    await ledger.setLimit("t:daily:x", d("2"), "CNY");
    expect(await ledger.read("t:daily:x")).toEqual({ limit: "2.00", currency: "CNY", spent: "0.10", reserved: "0.00", exhausted: false });
    expect(await ledger.reserve("t:daily:x", "big-2", d("1"), LATER)).toBe("reserved");
  });
});
