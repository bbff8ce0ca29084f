import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ArchivedOutput } from "../contract/generation-result.js";
import type { PresignOutput } from "../contract/output-link.js";
import type { GenerationClient } from "../producers/generation-client.js";
import type { ArchiveStore, ByteRange } from "../storage/archive-store.js";
import { HttpError } from "./api-error.js";
import { readAuth, type AuthOptions } from "./bearer-auth.js";
import { providerParam, readStatus } from "./generation-routes.js";
import { mustSee } from "./tenant-scope.js";

export interface OutputRoutesOptions {
  client: GenerationClient;
  /** The archive the outputs were stored in (the workers' `S3_BUCKET` or `ARCHIVE_DIR`). */
  store: ArchiveStore;
  auth: AuthOptions;
  /** Mints the presigned URL the route redirects to (`outputPresigner`). @defaultValue none: the store's bytes are served */
  presign?: PresignOutput;
}

/**
 * `GET /v1/generations/{id}/outputs/{index}`: one archived output, for callers without
 * credentials of the store. An S3 archive answers 302 to a presigned GET (anyone holding the URL
 * may fetch the object until it expires); a local archive streams the bytes with their archived
 * content type, the sha256 as ETag (If-None-Match answers 304) and single-range support (206).
 */
export function registerOutputRoutes(app: FastifyInstance, options: OutputRoutesOptions): void {
  app.get<{ Params: { id: string; index: string }; Querystring: { provider?: unknown } }>(
    "/v1/generations/:id/outputs/:index",
    { onRequest: readAuth(options.auth) },
    async (request, reply) => {
      const { id } = request.params;
      const index = Number(request.params.index);
      const status = await readStatus(options.client, id, providerParam(request.query.provider));
      if (!status) throw new HttpError(404, "not_found", `no generation ${id}`);
      mustSee(request, status.tenant, `no generation ${id}`);
      const output = status.result?.outputs.find((o) => o.index === index);
      if (!output) throw new HttpError(404, "not_found", `generation ${id} (${status.state}) has no archived output ${index}`);
      if (options.presign) {
        const { href } = await options.presign(output);
        return reply.code(302).header("location", href).header("cache-control", "no-store").send();
      }
      return sendOutput(request, reply, options.store, output);
    },
  );
}

/** The output's bytes from the store, whole or the one range asked for. */
async function sendOutput(
  request: FastifyRequest,
  reply: FastifyReply,
  store: ArchiveStore,
  output: ArchivedOutput,
): Promise<FastifyReply> {
  const etag = `"${output.sha256}"`;
  // the same key always holds the same bytes: a cache may keep them, but only the caller's own (reads are guarded)
  void reply.header("etag", etag).header("accept-ranges", "bytes").header("cache-control", "private, max-age=31536000, immutable");
  if (matchesEtag(request.headers["if-none-match"], etag)) return reply.code(304).send();
  const range = rangeOf(request.headers.range, output.bytes);
  if (range === "unsatisfiable") {
    void reply.header("content-range", `bytes */${output.bytes}`);
    throw new HttpError(416, "range_not_satisfiable", `range ${request.headers.range} is outside the output's ${output.bytes} bytes`);
  }
  const body = await openOutput(store, output, range);
  void reply.type(output.contentType);
  if (!range) return reply.code(200).header("content-length", output.bytes).send(body);
  return reply
    .code(206)
    .header("content-range", `bytes ${range.start}-${range.end}/${output.bytes}`)
    .header("content-length", range.end - range.start + 1)
    .send(body);
}

async function openOutput(store: ArchiveStore, output: ArchivedOutput, range: ByteRange | undefined) {
  try {
    return await store.get(output.key, range);
  } catch (err) {
    const code = (err as { code?: unknown; name?: unknown }).code ?? (err as { name?: unknown }).name;
    if (code === "ENOENT" || code === "NoSuchKey")
      throw new HttpError(404, "not_found", `output ${output.index} is no longer in the archive (${output.key})`);
    throw err;
  }
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

/**
 * The one byte range of a `Range: bytes=` header within `size` bytes (RFC 9110 §14.1.2:
 * `a-b`, `a-`, `-n`); undefined for none, another unit, or several ranges (the whole object is
 * then sent, which the RFC allows); "unsatisfiable" when it starts past the end.
 */
export function rangeOf(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  const [first, last] = [match[1]!, match[2]!];
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size) return "unsatisfiable";
  if (end < start) return undefined;
  return { start, end };
}
