import { createHash } from "node:crypto";
import type { GenerationStatus } from "../../producers/generation-client.js";

/** One archived output as fetched back through the HTTP API. */
export interface FetchedOutput {
  label: string;
  path: string;
  /** The answer's status; `302 → 200` when an S3 archive redirected to a presigned URL. */
  status: string;
  contentType: string;
  bytes: number;
  /** The fetched bytes' sha256 equals the one the result recorded when it archived them. */
  intact: boolean;
}

/**
 * Fetches every archived output of the completed jobs the way a consumer without the store's
 * credentials would: `GET /v1/generations/{id}/outputs/{index}` with the read token, following
 * the redirect an S3 archive answers with (fetch drops the Authorization header on the
 * cross-origin hop, so the presigned URL alone authorises it).
 */
export async function fetchOutputs(
  baseUrl: string,
  token: string,
  finals: Array<{ label: string; status: GenerationStatus }>,
): Promise<FetchedOutput[]> {
  const fetched: FetchedOutput[] = [];
  for (const { label, status } of finals) {
    if (status.result?.status !== "completed") continue;
    for (const output of status.result.outputs) {
      const path = `/v1/generations/${encodeURIComponent(status.id)}/outputs/${output.index}`;
      const answer = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = Buffer.from(await answer.arrayBuffer());
      fetched.push({
        label,
        path,
        status: answer.redirected ? `302 → ${answer.status}` : String(answer.status),
        contentType: answer.headers.get("content-type") ?? "",
        bytes: body.length,
        intact: answer.ok && createHash("sha256").update(body).digest("hex") === output.sha256,
      });
    }
  }
  return fetched;
}
