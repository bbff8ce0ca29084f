import type { GenerationStatus } from "../../producers/generation-client.js";
import type { ReceivedWebhook } from "@kiln/dev-tools";
import type { FetchedOutput } from "./demo-outputs.js";

/** Renders rows as a plain-text table with padded columns. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** One line per job whose state, step or progress changed since the last call. */
export function progressLine(label: string, status: GenerationStatus | undefined): string {
  const p = typeof status?.progress === "object" ? status.progress : undefined;
  const detail = [p?.step, p?.providerStatus, p?.progress !== undefined ? `${p.progress}%` : undefined].filter(Boolean).join(" / ");
  return `  ${label.padEnd(18)} ${(status?.state ?? "unknown").padEnd(10)} ${detail}`;
}

export function archiveTable(statuses: Array<{ label: string; status: GenerationStatus }>): string {
  const rows = statuses.flatMap(({ label, status }) =>
    status.result?.status === "completed"
      ? status.result.outputs.map((o) => [label, status.result!.model, o.role ?? "", o.key, String(o.bytes), o.sha256.slice(0, 16)])
      : [[label, status.result?.model ?? "", "", `(failed: ${status.result?.error?.code ?? status.failedReason ?? "?"})`, "", ""]],
  );
  return table(["request", "model", "role", "archived key", "bytes", "sha256"], rows);
}

export function webhookTable(received: ReceivedWebhook[], labels: Map<string, string>): string {
  const rows = received.map((r) => [
    labels.get(r.payload.data.id) ?? r.payload.data.id,
    r.payload.type,
    r.headers["webhook-id"] ?? "",
    r.verified ? "yes" : "NO",
    String(r.answeredWith),
  ]);
  return table(["request", "event", "webhook-id", "signature ok", "answered"], rows);
}

export function fetchedTable(fetched: FetchedOutput[]): string {
  const rows = fetched.map((f) => [f.label, `GET ${f.path}`, f.status, f.contentType, String(f.bytes), f.intact ? "yes" : "NO"]);
  return table(["request", "route", "status", "content-type", "bytes", "sha256 matches"], rows);
}
