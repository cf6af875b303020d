/**
 * SSH-side faults through the whole sandbox (rules in the fault store, sandbox.md §7): per-command
 * latency on virtual time, hang, drop after N output bytes (exec and SFTP mid-read), exit override,
 * impostor host key, authFail, sessionLimit; every SSH command shows up in the event log.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Sandbox from "../src/Sandbox.js"
import { call, connect, connected, exec, sftp } from "./ssh-support.js"

const sandbox = (options: Sandbox.SandboxOptions = {}) =>
  Effect.gen(function* () {
    const sb = yield* Sandbox.make({ seed: 3, timeScale: 0.001, authFailureDelay: 0, ...options })
    const ssh = sb.ssh!
    return { sb, target: { host: ssh.host, port: ssh.port, privateKey: Redacted.value(ssh.privateKey) } }
  })

describe("SSH faults", () => {
  it.scopedLive("latency is virtual time: with a manual clock the answer waits for advance", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox({ clock: "manual" })
      sb.control.addFault({ id: "slow", target: { kind: "ssh", argv: "^hostname$" }, when: { _tag: "always" }, effect: { _tag: "latency", latency: { fixed: 5000 } } })
      const { client } = yield* connected(target)
      let answered = false
      const pending = exec(client, "hostname").then((r) => {
        answered = true
        return r
      })
      yield* Effect.sleep("150 millis")
      expect(answered).toBe(false)
      sb.control.advance(5)
      const r = yield* Effect.promise(() => pending)
      expect(r).toMatchObject({ stdout: "pve\n", code: 0 })
      expect((yield* Effect.promise(() => exec(client, "whoami"))).stdout).toBe("root\n")
    }))

  it.scopedLive("hang never answers; the client closing the channel ends it without an exit status", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox()
      sb.control.addFault({ id: "stuck", target: { kind: "ssh", argv: "pveversion" }, when: { _tag: "once" }, effect: { _tag: "hang" } })
      const { client } = yield* connected(target)
      const r = yield* Effect.promise(() => exec(client, "pveversion", { onStream: (s) => setTimeout(() => s.close(), 300) }))
      expect(r).toMatchObject({ stdout: "", code: null, signal: null })
      expect((yield* Effect.promise(() => exec(client, "pveversion"))).code).toBe(0)
      expect(sb.control.events().some((e) => e.kind === "fault" && e.decision === "stuck")).toBe(true)
    }))

  it.scopedLive("drop after N bytes cuts the connection mid-output", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox()
      sb.control.addFault({ id: "cut", target: { kind: "ssh", argv: "^cat /etc/hosts$" }, when: { _tag: "always" }, effect: { _tag: "drop", phase: "body", afterBytes: 10 } })
      const { client } = yield* connected(target)
      const closed = new Promise<void>((resolve) => client.once("close", () => resolve()))
      const r = yield* Effect.promise(() => exec(client, "cat /etc/hosts"))
      expect(r.code).toBeNull()
      expect(r.stdoutBytes.length).toBeLessThanOrEqual(10)
      yield* Effect.promise(() => closed)
    }))

  it.scopedLive("exit override replaces the result; authFail and impostor host key act on the handshake", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox()
      sb.control.addFault({ id: "exit", target: { kind: "ssh", argv: "^zpool status -x$" }, when: { _tag: "once" }, effect: { _tag: "exit", code: 42, stdout: "fake\n", stderr: "boom\n" } })
      const conn = yield* connected(target)
      expect(yield* Effect.promise(() => exec(conn.client, "zpool status -x"))).toMatchObject({ stdout: "fake\n", stderr: "boom\n", code: 42 })
      expect(yield* Effect.promise(() => exec(conn.client, "zpool status -x"))).toMatchObject({ stdout: "all pools are healthy\n", code: 0 })
      sb.control.addFault({ id: "impostor", target: { kind: "sshHandshake" }, when: { _tag: "once" }, effect: { _tag: "hostKey" } })
      const fake = yield* Effect.promise(() => connect(target))
      expect(fake.presented).toBe(sb.ssh!.impostorFingerprint)
      expect(fake.presented).not.toBe(sb.ssh!.hostKeyFingerprint)
      fake.client.end()
      const real = yield* Effect.promise(() => connect(target))
      expect(real.presented).toBe(sb.ssh!.hostKeyFingerprint)
      real.client.end()
      sb.control.addFault({ id: "deny", target: { kind: "sshHandshake" }, when: { _tag: "once" }, effect: { _tag: "authFail" } })
      const denied = yield* Effect.promise(() => connect(target).then(() => "connected", (e: Error & { level?: string }) => e.level ?? ""))
      expect(denied).toBe("client-authentication")
    }))

  it.scopedLive("sessionLimit lets only one channel open per connection", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox({ clock: "manual" })
      sb.control.addFault({ id: "limit", target: { kind: "sshHandshake" }, when: { _tag: "once" }, effect: { _tag: "sessionLimit" } })
      const { client } = yield* connected(target)
      const first = yield* Effect.promise(() => new Promise<string>((resolve) => client.exec("sleep 10", (e, s) => resolve(e ? e.message : (s.end(), "opened")))))
      expect(first).toBe("opened")
      const second = yield* Effect.promise(() => new Promise<string>((resolve) => client.exec("true", (e) => resolve(e ? e.message : "opened"))))
      expect(second).toMatch(/open failure/i)
    }))

  it.scopedLive("SFTP drop mid-read closes the connection after the allowed bytes", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox()
      const host = sb.lab.machines!.get("host")!
      yield* Effect.promise(() => host.fs.writeFile("/tmp/big.bin", Buffer.alloc(200_000, 1)))
      sb.control.addFault({ id: "sftp-cut", target: { kind: "ssh", argv: "^sftp-read /tmp/big\\.bin$" }, when: { _tag: "always" }, effect: { _tag: "drop", phase: "body", afterBytes: 1000 } })
      const { client } = yield* connected(target)
      const s = yield* Effect.promise(() => sftp(client))
      const closed = new Promise<string>((resolve) => client.once("close", () => resolve("connection closed")))
      const read = call<Buffer>((cb) => s.readFile("/tmp/big.bin", cb)).then((b) => `read ${b.length}`, (e: Error) => `error ${e.message}`)
      const outcome = yield* Effect.promise(() => Promise.race([closed, read]))
      expect(outcome === "connection closed" || outcome.startsWith("error")).toBe(true)
      expect(outcome).not.toMatch(/^read /)
      expect(sb.control.events().some((e) => e.kind === "ssh" && e.decision === "drop" && e.detail === "read /tmp/big.bin")).toBe(true)
    }))

  it.scopedLive("SFTP drop mid-write closes the connection before the upload completes", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox()
      const host = sb.lab.machines!.get("host")!
      yield* Effect.promise(() => host.fs.writeFile("/tmp/up.bin", Buffer.from("old")))
      sb.control.addFault({ id: "sftp-wcut", target: { kind: "ssh", argv: "^sftp-write /tmp/up\\.bin$" }, when: { _tag: "always" }, effect: { _tag: "drop", phase: "body", afterBytes: 1000 } })
      const { client } = yield* connected(target)
      const s = yield* Effect.promise(() => sftp(client))
      const closed = new Promise<string>((resolve) => client.once("close", () => resolve("connection closed")))
      const write = call<void>((cb) => s.writeFile("/tmp/up.bin", Buffer.alloc(100_000, 2), (e) => cb(e, undefined))).then(() => "written", (e: Error) => `error ${e.message}`)
      const outcome = yield* Effect.promise(() => Promise.race([closed, write]))
      expect(outcome).not.toBe("written")
      expect(Buffer.from(yield* Effect.promise(() => host.fs.readFile("/tmp/up.bin"))).length).toBeLessThan(100_000)
    }))

  it.scopedLive("every SSH command is an event with principal, decision and latency", () =>
    Effect.gen(function* () {
      const { sb, target } = yield* sandbox()
      const { client } = yield* connected(target)
      yield* Effect.promise(() => exec(client, "pct list"))
      const ev = sb.control.events().filter((e) => e.kind === "ssh" && e.argv?.[0] === "pct list")
      expect(ev).toHaveLength(1)
      expect(ev[0]).toMatchObject({ principal: "root", decision: "ok", status: 0 })
      expect(typeof ev[0]!.latencyMs).toBe("number")
    }))
})
