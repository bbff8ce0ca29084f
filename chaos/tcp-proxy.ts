import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a server, to take it off the network without killing it (the S3
 * emulator keeps its objects in memory): `down()` resets every connection and refuses new
 * ones, `up()` accepts again on the same port.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  get isUp(): boolean {
    return this.server !== undefined;
  }

  constructor(
    private readonly targetPort: number,
    private readonly host = "127.0.0.1",
  ) {}

  async up(port = this.port): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(port, this.host, resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.resetAndDestroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}
