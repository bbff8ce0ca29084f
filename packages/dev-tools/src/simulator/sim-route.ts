import type { SimulatorOptions } from "./simulator-options.js";
import type { TaskBook } from "./task-book.js";

/** An HTTP answer the simulator sends. */
export interface SimAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What a route needs from the simulator. */
export interface RouteContext {
  book: TaskBook;
  options: SimulatorOptions;
  random: () => number;
  /** Base URL of the simulator, for result URLs. */
  base: string;
  /** The API key the call was sent with. */
  key?: string;
}
