// kiln's dev tools: the provider simulator and webhook receiver, and the process helpers that start
// a private redis-server. Used by `kiln demo` and `kiln simulate` (loaded when they run), the
// tests, the benchmarks and the chaos suite; nothing of kiln's product imports them.
export { ProviderSimulator, type SimulatorStats } from "./simulator/simulator.js";
export { DEFAULT_SIMULATOR_OPTIONS, DIRECTIVES, SimulatorOptions } from "./simulator/simulator-options.js";
export { WebhookReceiver, type ReceivedWebhook } from "./simulator/webhook-receiver.js";
export { TaskBook, type SimTask } from "./simulator/task-book.js";
// the pieces the simulator's unit tests check on their own: fake media and the TokenHub routes
export { fakeMedia, MEDIA_CONTENT_TYPES, streamedMp4, type MediaFormat } from "./simulator/fake-media.js";
export { tokenHubRoute } from "./simulator/tokenhub-routes.js";
export type { RouteContext } from "./simulator/sim-route.js";

export { ManagedProcess } from "./processes/managed-process.js";
export {
  findExecutable,
  getFreePort,
  startRedisProcess,
  type RedisProcessHandle,
  type RedisProcessOptions,
} from "./processes/redis-process.js";
