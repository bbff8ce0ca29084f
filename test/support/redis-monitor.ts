import { once } from "node:events";
import { connect } from "node:net";

/** One command as Redis's MONITOR reports it: who sent it (`lua` for a script's own), and its words. */
export interface MonitoredCommand {
  client: string;
  args: string[];
}

/**
 * Every command the server at `url` runs from now until `stop`, as MONITOR reports it (scripts'
 * own commands included, with client `lua`). A raw socket: ioredis's monitor mode trips over the
 * lines of Lua scripts.
 */
export async function monitorRedis(url: string): Promise<{ commands: MonitoredCommand[]; stop(): Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const commands: MonitoredCommand[] = [];
  let pending = "";
  socket.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString("latin1")).split("\r\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      // +<time> [<db> <client address or "lua">] "<command>" "<arg>" ...
      const client = /^\+\d+\.\d+ \[\d+ (\S+)\]/.exec(line)?.[1];
      if (client === undefined) continue;
      const args = [...line.slice(line.indexOf("]") + 1).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
      if (args.length > 0) commands.push({ client, args });
    }
  });
  socket.write("MONITOR\r\n");
  await once(socket, "data");
  return {
    commands,
    stop: async () => {
      socket.end();
      await once(socket, "close");
    },
  };
}
