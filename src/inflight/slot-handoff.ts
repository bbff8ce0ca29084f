import { slotRecheckDelayMs } from "./slot-recheck.js";
import type { GenerationJob } from "../queue/kiln-job.js";
import type { Logger } from "pino";
import {
  InflightSlots,
  DEFAULT_GRANT_TTL_MS,
  DEFAULT_SLOT_LEASE_MS,
  POLL_PRECEDENCE_MS,
  type InflightCaps,
  type SlotScopeUsage,
  type TenantSlotUsage,
} from "./inflight-slots.js";
import { readState } from "../queue/kiln-job.js";
import type { PartitionedQueues } from "../queue/partitioned-queues.js";
import type { RedisConnection } from "../queue/redis.js";
import type { SlotGate } from "./slot-gate.js";
import { SpareRate } from "./spare-rate.js";

/** How often each worker process sweeps its provider's slots (lapsed slots, lost wake-ups). @defaultValue 5 s */
const DEFAULT_SWEEP_EVERY_MS = 5_000;

/**
 * Hands in-flight slots to waiting jobs and wakes them. A job that finds its provider or model
 * full waits in a lane in Redis as a delayed job, costing nothing while it waits; whoever frees
 * a slot (a release, a sweep of lapsed slots) is told which waiters were handed one and
 * promotes their BullMQ jobs, so the next job in enqueue order is submitted at once.
 *
 * The promote is a separate call from the script that hands the slot over (their keys live in
 * different hash slots once queues are partitioned). A crash between the two leaves a handed
 * slot unclaimed: it lapses after the grant TTL and a later sweep hands it to the same job
 * again and wakes it. Every process sweeps on a timer, so that bound holds with no traffic.
 *
 * A held slot cannot outlive its holder: the sweep checks each holder whose lease is over
 * against its BullMQ job and takes the slot back when the job no longer waits on its task (gone,
 * finished, or its stored state holds no slot: a release, or the state write that recorded the
 * slot, lost with a Redis master that failed over before replicating it). So a leaked slot
 * is free again within the lease plus one sweep.
 */
export class SlotHandoff implements SlotGate {
  private timer?: NodeJS.Timeout;
  private pumping?: NodeJS.Timeout;
  private readonly reclaimObservers = new Set<(jobId: string) => void>();
  /** What the provider's rate had to spare at this process's recent polls. */
  private readonly spare = new SpareRate();

  constructor(
    private readonly slots: InflightSlots,
    /** Finds a job of the provider in whichever partition holds it (lanes are global, jobs are not). */
    private readonly findJob: (jobId: string) => Promise<GenerationJob | undefined>,
    private readonly log: Logger,
    private readonly sweepEveryMs = DEFAULT_SWEEP_EVERY_MS,
  ) {}

  /**
   * The hand-off of `provider`'s slots, one per process, shared by its workers in every partition:
   * slots and lanes are global per provider (keys under the un-partitioned prefix, a hash tag of
   * their own), while a job is found in whichever partition holds it. Timings follow `pollScale`
   * like every other delay, with floors that keep the sweep cheap.
   */
  static forProvider(options: {
    connection: RedisConnection;
    queues: PartitionedQueues;
    provider: string;
    /** `KILN_<PROVIDER>_MAX_INFLIGHT[_<MODEL>]`. @defaultValue none */
    inflight?: InflightCaps;
    /** @defaultValue 1 */
    pollScale?: number;
    /** `KILN_SLOT_LEASE`, before `pollScale`. @defaultValue 25 s */
    leaseMs?: number;
    log: Logger;
  }): SlotHandoff {
    const scale = options.pollScale ?? 1;
    const { connection, queues, provider } = options;
    const caps: InflightCaps = options.inflight ?? { models: new Map() };
    const slots = new InflightSlots(
      connection,
      queues.prefix,
      provider,
      // the line's precedence is a span of the poll schedule's time, which KILN_POLL_SCALE scales
      caps.rate ? { ...caps, rate: { ...caps.rate, precedenceMs: (caps.rate.precedenceMs ?? POLL_PRECEDENCE_MS) * scale } } : caps,
      Math.max(1_000, DEFAULT_GRANT_TTL_MS * scale),
      Math.max(1_000, (options.leaseMs ?? DEFAULT_SLOT_LEASE_MS) * scale),
    );
    // a member `<queue provider>:<id>` is another provider's job running a fallback here (ids hold no `:`)
    const findJob = (member: string) => {
      const at = member.indexOf(":");
      return at < 0 ? queues.findJob(provider, member) : queues.findJob(member.slice(0, at), member.slice(at + 1));
    };
    return new SlotHandoff(slots, findJob, options.log, Math.max(250, DEFAULT_SWEEP_EVERY_MS * scale));
  }

  /**
   * These slots as the jobs of another provider's queue take them, when they run a fallback at
   * this provider: each job is a member `<queue provider>:<id>`, so the hand-off finds it in its
   * own queue (to wake it, to check it still holds its slot), and ids that BullMQ numbers per
   * queue never meet.
   */
  forQueueOf(queueProvider: string): SlotGate & Pick<SlotHandoff, "release" | "wakeIfHanded"> {
    const member = (jobId: string) => `${queueProvider}:${jobId}`;
    return {
      acquire: (jobId, modelId, enqueuedAt, tenant) => this.acquire(member(jobId), modelId, enqueuedAt, tenant),
      uncapped: (modelId, tenant) => this.uncapped(modelId, tenant),
      holdsSlot: (modelId, tenant) => this.holdsSlot(modelId, tenant),
      request: (jobId, tenant, chance) => this.request(member(jobId), tenant, chance),
      spareRate: () => this.spareRate(),
      recheckDelayMs: (jobId) => this.recheckDelayMs(member(jobId)),
      release: (jobId, tenant) => this.release(member(jobId), tenant),
      wakeIfHanded: (jobId) => this.wakeIfHanded(member(jobId)),
    };
  }

  /** Starts the periodic sweep (a no-op for a provider without caps). */
  start(): void {
    if (this.timer || !this.slots.capped()) return;
    this.timer = setInterval(() => void this.sweep(), this.sweepEveryMs);
    this.timer.unref();
  }

  /** Each cap's slots in use and jobs waiting, read from Redis (`kiln_inflight_slots` at scrape time). */
  usage(): Promise<SlotScopeUsage[]> {
    return this.slots.usage();
  }

  /** Each tenant's slots held and jobs waiting (`kiln_tenant_inflight`, `kiln_tenant_waiting` at scrape time). */
  tenants(): Promise<TenantSlotUsage[]> {
    return this.slots.tenants();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.pumping);
    this.pumping = undefined;
  }

  /** Calls `observer` with each job whose slot the sweep took back (`kiln_slots_reclaimed_total`). */
  onReclaim(observer: (jobId: string) => void): void {
    this.reclaimObservers.add(observer);
  }

  async acquire(jobId: string, modelId: string, enqueuedAt: number, tenant: string): Promise<boolean> {
    const answer = await this.slots.acquire(jobId, modelId, enqueuedAt, tenant);
    await this.wake(answer.granted);
    if (!answer.held) this.pump();
    return answer.held;
  }

  /** Room in the provider's rate for a poll: 0 when taken, else the ms to wait. A failed look-up lets the poll go. */
  async request(jobId: string, tenant: string, chance?: number): Promise<number> {
    try {
      const room = await this.slots.request(jobId, tenant, chance);
      if (room.spare !== undefined) this.spare.observe(room.spare);
      else if (room.waitMs > 0) this.spare.observe(0);
      return room.waitMs;
    } catch (err) {
      this.log.warn({ err, jobId }, "could not take room in the provider's rate; polling anyway");
      return 0;
    }
  }

  spareRate(): number | undefined {
    return this.spare.share();
  }

  holdsSlot(modelId: string, tenant: string): boolean {
    return this.slots.holdsSlot(modelId, tenant);
  }

  /** Gives back the job's slot (or its place in a lane) and wakes whoever it went to. `tenant`: the job's. */
  async release(jobId: string, tenant?: string): Promise<void> {
    await this.wake(await this.slots.release(jobId, tenant));
  }

  uncapped(modelId: string, tenant: string): boolean {
    return this.slots.uncapped(modelId, tenant);
  }

  /**
   * Called once a waiting job is parked: a slot handed to it while it was still active could not
   * promote it, so it promotes itself. Best effort: a miss is recovered when the grant lapses.
   */
  async wakeIfHanded(jobId: string): Promise<void> {
    try {
      if (await this.slots.holds(jobId)) await this.wakeOne(jobId);
    } catch (err) {
      this.log.warn({ err, jobId }, "could not check for a slot handed over while parking");
    }
  }

  /**
   * When a parked job looks at its slot again by itself, should its wake-up be lost (see
   * `slotRecheckDelayMs`): its place in line decides. A failed look-up takes the head's delay.
   */
  async recheckDelayMs(jobId: string): Promise<number> {
    const ahead = await this.slots.ahead(jobId).catch(() => 0);
    return slotRecheckDelayMs(ahead, this.slots.leaseMs);
  }

  async sweep(): Promise<void> {
    try {
      const { granted, waiting } = await this.slots.sweep();
      await this.wake(granted);
      if (waiting) this.pump();
      for (const jobId of await this.slots.lapsed()) await this.checkHolder(jobId);
    } catch (err) {
      this.log.warn({ err }, "in-flight slot sweep failed");
    }
  }

  /**
   * Behind a rate, room frees with time, not with a release: while jobs wait, sweep every
   * window / max (one request's worth of room) until nobody waits. Each process pumps while it
   * parked a job or its periodic sweep found waiters, so a process that dies leaves no line
   * unserved for longer than one periodic sweep.
   */
  private pump(): void {
    const every = this.slots.pumpEveryMs();
    // not before start() nor after stop(): a sweep still running at stop() must not re-arm it
    if (every === undefined || this.pumping || !this.timer) return;
    this.pumping = setTimeout(() => {
      this.pumping = undefined;
      void this.sweep();
    }, every);
    this.pumping.unref();
  }

  /**
   * Renews the lease of a holder whose job still waits on its task, else takes the slot back.
   * A job that cannot be looked up now (its partition failing over) keeps its slot until the
   * next sweep: only an answer that the job does not hold it frees the slot.
   */
  private async checkHolder(jobId: string): Promise<void> {
    let holds: boolean;
    try {
      holds = await this.stillHolds(jobId);
    } catch (err) {
      this.log.warn({ err, jobId }, "could not check the holder of an in-flight slot; checking again at the next sweep");
      return;
    }
    if (holds) return this.slots.renew(jobId);
    const { reclaimed, granted } = await this.slots.reclaim(jobId);
    if (reclaimed) {
      this.log.warn({ jobId, event: "slot_reclaimed" }, "in-flight slot reclaimed: its job no longer waits on its task");
      for (const observer of this.reclaimObservers) observer(jobId);
    }
    await this.wake(granted);
  }

  /**
   * Whether the job still waits on the task its slot was taken for. An active job is running a
   * visit that releases or keeps the slot itself; any other live job holds one only when its
   * stored state says so (the submit writes `slot: true` before calling the provider).
   *
   * The stored state is read after the queue state: a visit writes its state before it moves
   * the job, so a job seen parked shows at least that visit's state. Read the other way round,
   * a job caught mid-submit (no slot recorded yet) and then seen parked to poll would lose the
   * slot its task holds, and the next in line would be submitted past the cap.
   */
  private async stillHolds(jobId: string): Promise<boolean> {
    const found = await this.findJob(jobId);
    if (!found) return false;
    const state = await found.getState();
    if (state === "active") return true;
    if (state === "completed" || state === "failed" || state === "unknown") return false;
    const job = await this.findJob(jobId);
    if (!job) return false;
    const stored = readState(job);
    // an unreadable state fails the job at its next visit, and that failure gives the slot back
    if (stored.kind === "unreadable") return true;
    return stored.kind === "state" && stored.state.slot && (stored.state.step === "submit" || stored.state.step === "poll");
  }

  /** Never throws: a job not woken now is woken when its grant lapses and is handed again. */
  private async wake(jobIds: readonly string[]): Promise<void> {
    for (const jobId of jobIds) {
      try {
        await this.wakeOne(jobId);
      } catch (err) {
        this.log.warn({ err, jobId }, "could not wake a job handed an in-flight slot");
      }
    }
  }

  private async wakeOne(jobId: string): Promise<void> {
    const job = await this.findJob(jobId);
    // removed while waiting: its slot goes to the next in line
    if (!job) return this.wake(await this.slots.release(jobId));
    try {
      await job.promote();
    } catch {
      // not delayed: already on its way to a worker (it claims the slot there), or it ended
      const state = await job.getState();
      if (state === "completed" || state === "failed" || state === "unknown") await this.wake(await this.slots.release(jobId));
    }
  }
}
