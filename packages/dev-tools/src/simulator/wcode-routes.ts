import { chatAnswer } from "./chat-answers.js";
import type { SimAnswer } from "./sim-route.js";
import type { RouteContext } from "./sim-route.js";

/**
 * The wcode chat API document calls its model list partial ("模型列表(部分)"): wcode serves many more ids through
 * the same endpoint, so the simulator answers any id but those it is told do not exist.
 */
const MISSING = /^missing-/;

/** wcode's error body (the chat API document's error response example): `{error: {message, type, param, code}}`. */
export function wcodeError(status: number, message: string, headers?: Record<string, string>): SimAnswer {
  return { status, body: { error: { message, type: "invalid_request_error", param: null, code: null } }, headers };
}

/** Routes `/wcode/api/gpt/v1/chat/completions`. Undefined when the path is not wcode's. */
export function wcodeRoute(method: string, path: string, body: Record<string, unknown>, ctx: RouteContext): SimAnswer | undefined {
  if (method !== "POST" || path !== "/wcode/api/gpt/v1/chat/completions") return undefined;
  const model = typeof body.model === "string" ? body.model : "";
  if (!model || MISSING.test(model)) return wcodeError(400, `model ${model} is not available`);
  return chatAnswer("wcode", model, body, ctx) ?? wcodeError(400, "the last message must be the user's");
}
