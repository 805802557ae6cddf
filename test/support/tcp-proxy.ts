import net from 'node:net';

/**
 * A plain TCP proxy (e.g. between a worker and the Temporal server) that can freeze: from then on no
 * byte moves either way, on the connections it has open and on new ones, and nothing is closed: the
 * worker goes on with what it can do alone, and the server hears nothing of it.
 */
export class TcpProxy {
  port = 0;
  private frozen = false;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.upstreamPort, this.upstreamHost);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ]) {
        this.sockets.add(from);
        if (this.frozen) from.pause();
        from.on('data', (d) => to.write(d));
        from.on('end', () => to.end());
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
