/**
 * The SSH connection's socket (ADR 0100): the pieces ssh2 writes in one tick leave together, in order and
 * intact, and a refused connection still surfaces as the socket's error.
 */
import * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { connectSocket } from "../src/internal/sshSocket.js"

const listen = () =>
  new Promise<{ server: net.Server; port: number; received: () => Buffer; chunks: () => number }>((resolve) => {
    const parts: Array<Buffer> = []
    const server = net.createServer((c) => c.on("data", (d: Buffer) => parts.push(d)))
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port, received: () => Buffer.concat(parts), chunks: () => parts.length })
    )
  })

const connected = (socket: net.Socket) => new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject))

describe("connectSocket", () => {
  it("holds the writes of one tick and sends them together, in order", async () => {
    const peer = await listen()
    const socket = connectSocket("127.0.0.1", peer.port)
    try {
      await connected(socket)
      expect(socket.writableCorked).toBe(0)
      socket.write(Buffer.from("len."))
      socket.write(Buffer.from("payload"), () => undefined)
      socket.write(".mac", "latin1")
      // nothing has left yet: the three pieces wait for the end of the tick
      expect(socket.writableCorked).toBe(1)
      expect(socket.writableLength).toBe(15)
      await new Promise((r) => process.nextTick(r))
      expect(socket.writableCorked).toBe(0)
      await new Promise((r) => setTimeout(r, 50))
      expect(peer.received().toString()).toBe("len.payload.mac")
      // a later tick's writes are corked afresh
      socket.write(Buffer.from("!"))
      expect(socket.writableCorked).toBe(1)
    } finally {
      socket.destroy()
      peer.server.close()
    }
  })

  it("reports a refused connection as the socket's error", async () => {
    const peer = await listen()
    const port = peer.port
    await new Promise((r) => peer.server.close(r))
    const socket = connectSocket("127.0.0.1", port)
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => socket.once("error", resolve))
    expect(error.code).toBe("ECONNREFUSED")
  })
})
