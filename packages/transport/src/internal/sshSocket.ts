/**
 * The TCP socket under the SSH connection. ssh2 writes every packet in pieces (with chacha20-poly1305: its
 * encrypted length, its payload, its MAC), and with TCP_NODELAY on (ADR 0095) each piece left as a write of
 * its own: three syscalls and three TCP segments per packet. Corked on the first write of a tick and
 * uncorked on the next, whatever ssh2 writes in one tick leaves as one `writev` (ADR 0100).
 */
import * as net from "node:net"

/**
 * Makes the writes of each tick on `socket` go out together. Call it after `connect()`: `net.Socket`'s
 * `connect` puts its prototype's `write` back on the instance.
 */
export const coalesceWrites = (socket: net.Socket): void => {
  const write = net.Socket.prototype.write
  const flush = () => {
    while (socket.writableCorked > 0) socket.uncork()
  }
  socket.write = function (this: net.Socket, ...args: Array<unknown>): boolean {
    if (socket.writableCorked === 0) {
      socket.cork()
      process.nextTick(flush)
    }
    return (write as (...a: Array<unknown>) => boolean).apply(this, args)
  } as net.Socket["write"]
}

/** A TCP connection to `host:port` with Nagle off and each tick's writes coalesced, for ssh2's `sock`. */
export const connectSocket = (host: string, port: number): net.Socket => {
  const socket = new net.Socket()
  socket.setNoDelay(true)
  socket.connect({ host, port })
  coalesceWrites(socket)
  return socket
}
