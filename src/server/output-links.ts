import type { FastifyInstance } from "fastify";
import { linkedGeneration, oncePerKey, type PresignOutput } from "../contract/output-link.js";
import { isRecord } from "../util/describe-value.js";

/** Answers whose generations get links: one view (`GET /v1/generations/{id}`, `POST`) or a page of them (`{ data: [...] }`). */
const LINKED_ROUTES = new Set(["/v1/generations/:id", "/v1/generations"]);

/**
 * `KILN_OUTPUT_URLS=presigned`: every output of a generation answer gets a fresh `href` and
 * `expiresAt`, minted as the answer is sent, so a stored result never holds a URL that has
 * expired. Runs on the serialized body, after the secret scrubber: an href carries the S3
 * access key id (a configured secret) in `X-Amz-Credential`, and scrubbing it would break the
 * signature; the stored text around it is scrubbed as before.
 */
export function registerOutputLinks(app: FastifyInstance, presign: PresignOutput): void {
  app.addHook("onSend", async (request, reply, payload) => {
    if (typeof payload !== "string" || reply.statusCode >= 300 || !LINKED_ROUTES.has(request.routeOptions.url ?? "")) return payload;
    return JSON.stringify(await linkedAnswer(JSON.parse(payload) as unknown, oncePerKey(presign)));
  });
}

/** One generation view with its outputs linked (a view that has none comes back as it was). */
export function linkedGenerationOf(presign: PresignOutput): (view: unknown) => Promise<unknown> {
  return (view) => linkedGeneration(view, oncePerKey(presign));
}

async function linkedAnswer(body: unknown, presign: PresignOutput): Promise<unknown> {
  if (isRecord(body) && Array.isArray(body.data))
    return { ...body, data: await Promise.all(body.data.map((v) => linkedGeneration(v, presign))) };
  return linkedGeneration(body, presign);
}
