/**
 * The SSH transport against the sandbox's SSH server over real sockets: the shared suite, plus GuestExec and
 * GuestFiles on the sandbox's containers (CT 100 Debian running, CT 102 Alpine stopped) and VM 200 (agent).
 */
import { createHash, randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { GuestExec } from "@homelab-mcp/core/capabilities/GuestExec"
import { GuestFiles } from "@homelab-mcp/core/capabilities/GuestFiles"
import { HostFiles } from "@homelab-mcp/core/capabilities/HostFiles"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"
import * as GuestExecLive from "../src/GuestExec.js"
import * as GuestFilesLive from "../src/GuestFiles.js"
import * as HostFilesLive from "../src/HostFiles.js"
import * as NodeShellLive from "../src/NodeShell.js"
import * as Ssh from "../src/Ssh.js"
import { noOpenChannels, sharedSuite } from "./SshSuite.js"

let scope: Scope.CloseableScope
let sandbox: Sandbox.SandboxHandle

beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  sandbox = await Effect.runPromise(
    Scope.extend(Sandbox.make({ seed: 1, timeScale: 1, authFailureDelay: 0 }), scope)
  )
}, 60_000)

afterAll(async () => {
  if (scope) await Effect.runPromise(Scope.close(scope, Exit.void))
})

const ssh = () => {
  if (sandbox.ssh === undefined) throw new Error("the sandbox started without SSH")
  return sandbox.ssh
}

const options = (extra: Partial<Ssh.SshOptions> = {}): Ssh.SshOptions => ({
  host: ssh().host,
  port: ssh().port,
  user: ssh().user,
  privateKey: ssh().privateKey,
  hostKeyFingerprint: ssh().hostKeyFingerprint,
  connectTimeoutMs: 5_000,
  keepaliveMs: 2_000,
  reconnectDelayMs: 50,
  commandTimeoutGraceMs: 2_000,
  nodeTempDir: "/tmp",
  warn: () => {},
  ...extra
})

/** Every companion service on one connection. */
const companion = (extra: Partial<Ssh.SshOptions> = {}) =>
  Layer.mergeAll(GuestExecLive.layerFromSsh, GuestFilesLive.layerWithNode(sandbox.api.node), HostFilesLive.layerFromSsh).pipe(
    Layer.provideMerge(NodeShellLive.layerFromSsh),
    Layer.provideMerge(Ssh.layer(options(extra)))
  )

const run = <A, E>(body: Effect.Effect<A, E, GuestExec | GuestFiles | HostFiles | NodeShell | Ssh.Ssh>, extra: Partial<Ssh.SshOptions> = {}) =>
  body.pipe(Effect.provide(Layer.fresh(companion(extra))))

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

describe("sandbox SSH server: shared suite", () => {
  sharedSuite(() => ({
    options,
    fingerprint: ssh().hostKeyFingerprint,
    wrongFingerprint: ssh().impostorFingerprint
  }), { signals: true, partialOutputOnTimeout: true, longCommands: true })

  it.live("a hanging command: the backstop closes that channel only (exec tools get partial results, fixed commands SshTimeout)", () =>
    Effect.gen(function*() {
      sandbox.control.addFault({
        id: "transport-hang",
        target: { kind: "ssh", argv: "hang-marker" },
        when: { _tag: "always" },
        effect: { _tag: "hang" }
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => sandbox.control.removeFault("transport-hang")))
      const r = yield* run(
        Effect.gen(function*() {
          const sh = yield* NodeShell
          yield* sh.exec(["true"])
          const partial = yield* sh.execScript("echo hang-marker", { timeoutMs: 1_000 })
          const fixed = yield* Effect.flip(sh.exec(["echo", "hang-marker"], { timeoutMs: 1_000 }))
          const after = yield* sh.exec(["echo", "fine"])
          return { partial, fixed, after, open: yield* noOpenChannels }
        }),
        { commandTimeoutGraceMs: 500 }
      )
      expect(r.partial).toMatchObject({ exitCode: null, signal: null, timedOut: true })
      expect(r.fixed._tag).toBe("SshTimeout")
      expect(r.after.stdout).toBe("fine\n")
      expect(r.open).toBe(0)
    }).pipe(Effect.scoped), 30_000)
})

describe("sandbox: latency", () => {
  it.live("commands in a row are not held back by delayed ACKs (TCP_NODELAY): 20 execs well under 20 x 80 ms", () =>
    Effect.gen(function*() {
      const sh = yield* NodeShell
      yield* sh.exec(["true"])
      const started = Date.now()
      for (let i = 0; i < 20; i++) expect((yield* sh.exec(["true"])).exitCode).toBe(0)
      // With Nagle on, each command's small closing messages waited for the server's delayed ACK, twice: at
      // least 80 ms per command, 1.6 s for 20 (measured 2.7 s). The sandbox answers a command in a few ms.
      expect(Date.now() - started).toBeLessThan(800)
    }).pipe(Effect.provide(Layer.fresh(NodeShellLive.layer(options())))))
})

describe("sandbox: GuestExec", () => {
  it.live("pct exec on the Debian CT runs bash with the in-guest timeout and real exit codes", () =>
    run(
      Effect.gen(function*() {
        const ge = yield* GuestExec
        const r = yield* ge.pctExec({ vmid: 100, command: "[[ -d /tmp ]] && echo ok; echo err >&2; exit 7", timeoutMs: 10_000 })
        expect(r).toMatchObject({ vmid: 100, shell: "bash", inGuestTimeout: true, exitCode: 7, stdout: "ok\n", stderr: "err\n", timedOut: false })
        const sh = yield* ge.pctExec({ vmid: 100, command: "echo $0", timeoutMs: 10_000, shell: "sh" })
        expect(sh.shell).toBe("sh")
      })
    ), 30_000)

  it.live("pct exec timeout: the in-guest timeout fires first", () =>
    run(
      Effect.gen(function*() {
        const r = yield* (yield* GuestExec).pctExec({ vmid: 100, command: "sleep 30", timeoutMs: 1_000 })
        expect(r.timedOut).toBe(true)
        expect(r.exitCode).toBe(124)
        expect(r.durationMs).toBeGreaterThanOrEqual(1_000)
      })
    ), 30_000)

  it.live("a stopped container is GuestNotRunning", () =>
    run(
      Effect.gen(function*() {
        const e = yield* Effect.flip((yield* GuestExec).pctExec({ vmid: 102, command: "true", timeoutMs: 5_000 }))
        expect(e).toMatchObject({ _tag: "GuestNotRunning", vmid: 102 })
      })
    ), 30_000)

  it.live("qm guest exec: the agent's JSON is authoritative", () =>
    run(
      Effect.gen(function*() {
        const ge = yield* GuestExec
        const r = yield* ge.qmExec({ vmid: 200, command: "echo hi; exit 3", timeoutMs: 10_000 })
        expect(r).toMatchObject({ vmid: 200, exitCode: 3, stdout: "hi\n", timedOut: false, pid: null })
      })
    ), 30_000)

  it.live("qm guest exec timeout returns the pid with timedOut and exitCode null (B4)", () =>
    run(
      Effect.gen(function*() {
        const r = yield* (yield* GuestExec).qmExec({ vmid: 200, command: "sleep 60", timeoutMs: 2_000 })
        expect(r.timedOut).toBe(true)
        expect(r.exitCode).toBeNull()
        expect(typeof r.pid).toBe("number")
        expect(r.notes.join(" ")).toContain(`pid ${r.pid}`)
      })
    ), 30_000)
})

describe("sandbox: GuestFiles", () => {
  it.live("pct write, stat, resolve, read and remove round trip (binary-safe, sha256 checked)", () =>
    run(
      Effect.gen(function*() {
        const gf = yield* GuestFiles
        for (const size of [0, 1, 300_000]) {
          const p = `/root/mcp-test-${size}.bin`
          const content = new Uint8Array(randomBytes(size))
          const w = yield* gf.pctWrite(100, p, content, { mode: "0640", uid: 0, gid: 0 })
          expect(w.sha256).toBe(sha256(content))
          const st = Option.getOrThrow(yield* gf.pctStat(100, p))
          expect(st).toMatchObject({ type: "file", size, mode: "640", uid: 0, gid: 0 })
          expect(Option.getOrThrow(yield* gf.pctResolve(100, p))).toBe(p)
          const back = yield* gf.pctRead(100, p, { expectedSize: size })
          expect(sha256(back)).toBe(sha256(content))
          if (size > 100) {
            const win = yield* gf.pctRead(100, p, { expectedSize: size, offset: 10, length: 20 })
            expect(Buffer.from(win)).toStrictEqual(Buffer.from(content.subarray(10, 30)))
          }
          yield* gf.pctRemove(100, p)
          expect(Option.isNone(yield* gf.pctStat(100, p))).toBe(true)
        }
      })
    ), 60_000)

  it.live("missing paths and stopped guests are decided explicitly", () =>
    run(
      Effect.gen(function*() {
        const gf = yield* GuestFiles
        expect(Option.isNone(yield* gf.pctStat(100, "/etc/does-not-exist"))).toBe(true)
        expect(Option.isNone(yield* gf.pctResolve(100, "/no/such/dir/file"))).toBe(true)
        const stopped = yield* Effect.flip(gf.pctStat(102, "/etc/hostname"))
        expect(stopped._tag).toBe("GuestNotRunning")
        const pushStopped = yield* Effect.flip(gf.pctWrite(102, "/root/x", new Uint8Array([1]), { mode: "0644", uid: 0, gid: 0 }))
        expect(pushStopped._tag).toBe("GuestNotRunning")
      })
    ), 30_000)

  it.live("agent file write and read on VM 200, with the 46080-byte limit checked first", () =>
    run(
      Effect.gen(function*() {
        const gf = yield* GuestFiles
        // The full agent limit: the content travels on stdin, so no exec request exceeds ssh2's 35000-byte packets.
        const content = new Uint8Array(randomBytes(46_080))
        const w = yield* gf.qmWrite(200, "/root/agent-test.bin", content)
        expect(w.sha256).toBe(sha256(content))
        const r = yield* gf.qmRead(200, "/root/agent-test.bin", { offset: 100, count: 50 })
        expect(Buffer.from(r.content)).toStrictEqual(Buffer.from(content.subarray(100, 150)))
        expect(r.eof).toBe(false)
        const all = yield* gf.qmRead(200, "/root/agent-test.bin", { offset: 0, count: 1_000_000 })
        expect(sha256(all.content)).toBe(sha256(content))
        expect(all.eof).toBe(true)
        const tooBig = yield* Effect.flip(gf.qmWrite(200, "/root/x", new Uint8Array(46_081)))
        expect(tooBig._tag).toBe("ContentTooLarge")
        const missing = yield* Effect.flip(gf.qmRead(200, "/root/no-such-file", { offset: 0, count: 10 }))
        expect(missing._tag).toBe("FileNotFound")
        yield* gf.qmRemove(200, "/root/agent-test.bin")
        const gone = yield* Effect.flip(gf.qmRead(200, "/root/agent-test.bin", { offset: 0, count: 10 }))
        expect(gone._tag).toBe("FileNotFound")
      })
    ), 60_000)
})

describe("sandbox: HostFiles", () => {
  it.live("atomic write and read of a host file over the sandbox's SFTP", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        const content = new Uint8Array(randomBytes(100_000))
        const w = yield* hf.write("/root/host-test.bin", content, { mode: 0o600 })
        expect(w).toMatchObject({ newFile: true, mode: 0o600, sha256: sha256(content) })
        const back = yield* hf.read("/root/host-test.bin", { offset: 0, length: 200_000 })
        expect(sha256(back)).toBe(sha256(content))
        const listing = yield* hf.readdir("/root")
        expect(listing.some((e) => e.name === "host-test.bin")).toBe(true)
        expect(listing.some((e) => e.name.includes(".mcp-"))).toBe(false)
        yield* hf.unlink("/root/host-test.bin")
        expect(Option.isNone(yield* hf.stat("/root/host-test.bin"))).toBe(true)
      })
    ), 30_000)
})

describe("sandbox: faults and flags", () => {
  const withFault = <A, E, R>(rule: Parameters<Sandbox.SandboxControl["addFault"]>[0], body: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => sandbox.control.addFault(rule)),
      () => body,
      () => Effect.sync(() => sandbox.control.removeFault(rule.id))
    )

  it.live("an impostor host key is refused with expected and presented; an auth failure is SshAuthFailed", () =>
    Effect.gen(function*() {
      const impostor = yield* withFault(
        { id: "t-hostkey", target: { kind: "sshHandshake" }, when: { _tag: "always" }, effect: { _tag: "hostKey" } },
        Effect.flip(run(Effect.flatMap(NodeShell, (sh) => sh.exec(["true"]))))
      )
      expect(impostor).toMatchObject({
        _tag: "SshHostKeyMismatch",
        expected: ssh().hostKeyFingerprint,
        presented: ssh().impostorFingerprint
      })
      const auth = yield* withFault(
        { id: "t-auth", target: { kind: "sshHandshake" }, when: { _tag: "always" }, effect: { _tag: "authFail" } },
        Effect.flip(run(Effect.flatMap(NodeShell, (sh) => sh.exec(["true"]))))
      )
      expect(auth._tag).toBe("SshAuthFailed")
    }), 30_000)

  it.live("a connection dropped mid-command reports SshChannelClosed and the next call reconnects", () =>
    run(
      Effect.gen(function*() {
        const sh = yield* NodeShell
        yield* sh.exec(["true"])
        const cut = yield* withFault(
          { id: "t-drop", target: { kind: "ssh", argv: "drop-marker" }, when: { _tag: "always" }, effect: { _tag: "drop", phase: "body", afterBytes: 3 } },
          Effect.flip(sh.exec(["sh", "-c", "echo drop-marker-0123456789"]))
        )
        expect(cut._tag).toBe("SshChannelClosed")
        expect((yield* sh.exec(["echo", "again"])).stdout).toBe("again\n")
        expect((yield* (yield* Ssh.Ssh).stats).connects).toBe(2)
      })
    ), 30_000)

  it.live("without posix-rename the host write falls back to mv -f; without SFTP the error names the subsystem", () =>
    Effect.gen(function*() {
      sandbox.control.setFlags({ sftpExtensions: "none" })
      const w = yield* run(
        Effect.gen(function*() {
          const hf = yield* HostFiles
          const r = yield* hf.write("/root/fallback.txt", Buffer.from("via mv\n"))
          const back = yield* hf.read("/root/fallback.txt", { offset: 0, length: 100 })
          const names = (yield* hf.readdir("/root")).map((e) => e.name)
          yield* hf.unlink("/root/fallback.txt")
          return { r, back: Buffer.from(back).toString("utf8"), names }
        })
      ).pipe(Effect.ensuring(Effect.sync(() => sandbox.control.setFlags({ sftpExtensions: "openssh" }))))
      expect(w.r.newFile).toBe(true)
      expect(w.back).toBe("via mv\n")
      expect(w.names.some((n) => n.includes(".mcp-"))).toBe(false)
      sandbox.control.setFlags({ sftp: "off" })
      const e = yield* Effect.flip(run(Effect.flatMap(NodeShell, (sh) => sh.readFile("/etc/hostname")))).pipe(
        Effect.ensuring(Effect.sync(() => sandbox.control.setFlags({ sftp: "offered" })))
      )
      expect(e._tag).toBe("CommandFailed")
      expect(e.message).toMatch(/SFTP subsystem/)
    }), 30_000)

  it.live("the Alpine CT: sh instead of bash, BusyBox timeout detected, real exit codes (D1, D4, J1)", () =>
    run(
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const ge = yield* GuestExec
        const start = yield* sh.exec(["pct", "start", "102"], { timeoutMs: 20_000 })
        expect(start.exitCode).toBe(0)
        yield* Effect.addFinalizer(() => Effect.ignore(sh.exec(["pct", "stop", "102"], { timeoutMs: 20_000 })))
        const r = yield* ge.pctExec({ vmid: 102, command: "echo $((6*7)); exit 5", timeoutMs: 5_000 })
        expect(r).toMatchObject({ shell: "sh", exitCode: 5, stdout: "42\n" })
        expect(r.notes.join(" ")).toMatch(/no bash/)
        expect(r.notes.join(" ")).toMatch(/BusyBox/)
        const missing = yield* ge.pctExec({ vmid: 102, command: "no-such-command-xyz", timeoutMs: 5_000 })
        expect(missing.exitCode).toBe(127)
      }).pipe(Effect.scoped)
    ), 60_000)
})

describe("sandbox: pct pull and push edge cases (C1)", () => {
  it.live("a missing file is FileNotFound whatever pct pull does; a pull that copies nothing is never success", () =>
    run(
      Effect.gen(function*() {
        const gf = yield* GuestFiles
        for (const mode of ["exit0-empty", "exit0", "exit255"] as const) {
          sandbox.control.setFlags({ pctPullMissing: mode })
          const e = yield* Effect.flip(gf.pctRead(100, "/etc/no-such-file.conf", { expectedSize: 5 }))
          expect([mode, e._tag]).toStrictEqual([mode, "FileNotFound"])
        }
        sandbox.control.setFlags({ pctPullMissing: "exit0-empty" })
        sandbox.control.addFault({
          id: "t-pull-nocopy",
          target: { kind: "ssh", argv: "'pct' 'pull'" },
          when: { _tag: "always" },
          effect: { _tag: "exit", code: 0 }
        })
        const size = Option.getOrThrow(yield* gf.pctStat(100, "/etc/hostname")).size
        const e = yield* Effect.flip(gf.pctRead(100, "/etc/hostname", { expectedSize: size })).pipe(
          Effect.ensuring(Effect.sync(() => sandbox.control.removeFault("t-pull-nocopy")))
        )
        expect(e._tag).toBe("CommandFailed")
        expect(e.message).toContain(`copied 0 bytes of ${size}`)
      })
    ), 60_000)

  it.live("a push into a missing directory is ParentDirectoryMissing and leaves no temp files", () =>
    run(
      Effect.gen(function*() {
        const gf = yield* GuestFiles
        const e = yield* Effect.flip(gf.pctWrite(100, "/no/such/dir/file.txt", Buffer.from("x"), { mode: "0644", uid: 0, gid: 0 }))
        expect(e._tag).toBe("ParentDirectoryMissing")
        const left = yield* (yield* NodeShell).exec(["sh", "-c", "ls /tmp | grep -c '^mcp\\.' || true"])
        expect(left.stdout.trim()).toBe("0")
      })
    ), 30_000)
})
