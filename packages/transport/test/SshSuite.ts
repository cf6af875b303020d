/**
 * The transport suite shared by the real OpenSSH sshd and the sandbox's SSH server: exec with stdout, stderr
 * and exit codes, signals, timeouts, output caps, binary-safe transfers, one shared connection, pin mismatch.
 * Every test runs under `it.live` over real sockets.
 */
import { createHash, randomBytes } from "node:crypto"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import * as NodeShellLive from "../src/NodeShell.js"
import * as Ssh from "../src/Ssh.js"

/** What the suite needs from a server. */
export interface SuiteTarget {
  /** Pinned options for a fresh connection. */
  readonly options: (extra?: Partial<Ssh.SshOptions>) => Ssh.SshOptions
  /** A valid fingerprint that is not the server's. */
  readonly wrongFingerprint: string
  /** The server's real fingerprint. */
  readonly fingerprint: string
  /** Server features a simulator lacks; those tests are replaced by the simulator's own (see SshSandbox.test.ts). */
  readonly gaps?: {
    /** No way to end a command by a signal. */
    readonly signals?: boolean
    /** `timeout` drops what the command printed before it was stopped. */
    readonly partialOutputOnTimeout?: boolean
    /** Exec requests over ~32 KiB break the connection. */
    readonly longCommands?: boolean
  }
}

/** NodeShell + Ssh on one fresh connection. */
export const stack = (options: Ssh.SshOptions) => NodeShellLive.layer(options)

/** Runs `body` with a fresh connection. */
export const withStack = <A, E>(
  options: Ssh.SshOptions,
  body: Effect.Effect<A, E, NodeShell | Ssh.Ssh>
) => body.pipe(Effect.provide(Layer.fresh(stack(options))))

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

/** Waits until no exec channel is open (the server confirmed every close). */
export const noOpenChannels = Effect.gen(function*() {
  const ssh = yield* Ssh.Ssh
  for (let i = 0; i < 300; i++) {
    const s = yield* ssh.stats
    if (s.openExecChannels === 0) return 0
    yield* Effect.sleep("50 millis")
  }
  return (yield* ssh.stats).openExecChannels
})

/** Registers the shared tests for `target()` (called lazily, after `beforeAll` started the server). */
export const sharedSuite = (target: () => SuiteTarget, gaps: SuiteTarget["gaps"] = {}) => {
  it.live("exec reports stdout, stderr and the exit code", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const r = yield* sh.exec(["sh", "-c", "printf out; printf err >&2; exit 3"])
        expect(r).toMatchObject({ exitCode: 3, signal: null, timedOut: false, stdout: "out", stderr: "err" })
        expect(r.stdoutBytes).toBe(3)
        expect(r.stderrTruncated).toBe(false)
        const ok = yield* sh.exec(["true"])
        expect(ok.exitCode).toBe(0)
      })
    ))

  it.live("argv elements arrive unchanged (quoting)", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const args = ["a b", "it's", "$(echo pwned)", "`id`", "\\", "\"q\"", "-n", "", "*", "é€😀"]
        const r = yield* sh.exec(["printf", "%s\\n", ...args])
        expect(r.stdout).toBe(args.map((a) => a + "\n").join(""))
        const nul = yield* Effect.exit(sh.exec(["printf", "a\0b"]))
        expect(Exit.isFailure(nul) && JSON.stringify(nul.cause)).toMatch(/InvalidInput/)
      })
    ))

  if (!gaps.signals) it.live("a signal kill reports exitCode null and the signal, never 0", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const r = yield* sh.exec(["sh", "-c", "kill -KILL $$"])
        expect(r.exitCode).toBeNull()
        expect(r.signal).toBe("SIGKILL")
        expect(r.timedOut).toBe(false)
      })
    ))

  it.live("the node wrapper times out: 124 with timedOut, elapsed >= requested", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const r = yield* sh.exec(["sleep", "30"], { timeoutMs: 1000 })
        expect(r.exitCode).toBe(124)
        expect(r.timedOut).toBe(true)
        expect(r.durationMs).toBeGreaterThanOrEqual(1000)
        expect(r.durationMs).toBeLessThan(10_000)
        expect(yield* noOpenChannels).toBe(0)
      })
    ))

  it.live("a program exiting 124 early is a plain exit 124", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const r = yield* (yield* NodeShell).exec(["sh", "-c", "exit 124"], { timeoutMs: 10_000 })
        expect(r).toMatchObject({ exitCode: 124, timedOut: false })
      })
    ))

  it.live("execScript runs bash, honours cwd and reports timeouts truthfully", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const r = yield* sh.execScript("[[ -d /tmp ]] && echo ok; pwd", { cwd: "/tmp" })
        expect(r.stdout).toBe("ok\n/tmp\n")
        expect(r.exitCode).toBe(0)
        const t = yield* sh.execScript("echo started; sleep 20", { timeoutMs: 1000 })
        expect(t).toMatchObject({ exitCode: 124, timedOut: true })
        if (!gaps.partialOutputOnTimeout) expect(t.stdout).toBe("started\n")
      })
    ))

  it.live("output is capped per stream with first and last halves and a marker", () =>
    withStack(
      target().options({ outputMaxBytes: 1000 }),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const r = yield* sh.execScript(
          "printf 'HEAD'; printf '%0200000d' 0 | tr 0 a; printf 'TAIL'; printf 'eeeeeeeeee' >&2"
        )
        expect(r.stdoutBytes).toBe(200_008)
        expect(r.stdoutTruncated).toBe(true)
        expect(r.stdout.startsWith("HEAD")).toBe(true)
        expect(r.stdout.endsWith("TAIL")).toBe(true)
        expect(r.stdout).toContain("…[truncated, 199008 bytes omitted]…")
        expect(r.stderr).toBe("eeeeeeeeee")
        expect(r.stderrTruncated).toBe(false)
      })
    ))

  it.live("multi-byte characters split across chunks survive (decoding after assembly)", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const r = yield* (yield* NodeShell).execScript("for i in $(seq 1 6000); do printf 'é€😀'; done")
        expect(r.stdout).toBe("é€😀".repeat(6000))
        expect(r.stdoutBytes).toBe(9 * 6000)
      })
    ))

  it.live("output() returns stdout of a successful command and maps failures to CommandFailed", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        expect(yield* sh.output(["echo", "hello"])).toBe("hello\n")
        const failed = yield* Effect.flip(sh.output(["sh", "-c", "echo bad >&2; exit 2"]))
        expect(failed._tag).toBe("CommandFailed")
        expect(failed._tag === "CommandFailed" && failed.exitCode).toBe(2)
        expect(failed.message).toContain("bad")
      })
    ))

  if (!gaps.longCommands) it.live("a 61440-character argument (agent file-write size) passes intact", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const arg = "A".repeat(61_440)
        const r = yield* (yield* NodeShell).exec(["sh", "-c", "printf %s \"$1\" | wc -c", "sh", arg])
        expect(r.stdout.trim()).toBe("61440")
      })
    ))

  it.live("binary-safe transfer of 0 B, 1 B and several MiB through node temp files", () =>
    withStack(
      target().options(),
      Effect.scoped(
        Effect.gen(function*() {
          const sh = yield* NodeShell
          for (const size of [0, 1, 5 * 1024 * 1024 + 7]) {
            const tmp = yield* sh.tempFile
            const content = size === 1 ? new Uint8Array([0]) : new Uint8Array(randomBytes(size))
            yield* sh.writeFile(tmp, content)
            expect(yield* sh.fileSize(tmp)).toBe(size)
            const remote = (yield* sh.output(["sha256sum", "--", tmp])).split(" ")[0]
            expect(remote).toBe(sha256(content))
            const back = yield* sh.readFile(tmp)
            expect(back.length).toBe(size)
            expect(sha256(back)).toBe(sha256(content))
            if (size > 100) {
              const win = yield* sh.readFile(tmp, { offset: 100, length: 50 })
              expect(Buffer.from(win)).toStrictEqual(Buffer.from(content.subarray(100, 150)))
            }
          }
          const past = yield* sh.readFile(yield* sh.tempFile, { offset: 10, length: 10 })
          expect(past.length).toBe(0)
        })
      )
    ), 60_000)

  it.live("temp files are 0600 and removed when the scope closes", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const path = yield* Effect.scoped(
          Effect.gen(function*() {
            const p = yield* sh.tempFile
            expect((yield* sh.output(["stat", "-c", "%a", "--", p])).trim()).toBe("600")
            return p
          })
        )
        const r = yield* sh.exec(["test", "-e", path])
        expect(r.exitCode).toBe(1)
        const missing = yield* Effect.flip(sh.readFile(path))
        expect(missing._tag).toBe("FileNotFound")
      })
    ))

  it.live("uploadTemp: a fresh 0600 temp file holding the bytes (0 B to MiB), made over SFTP, removed when the scope closes", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const paths: Array<string> = []
        for (const size of [0, 3 * 1024 * 1024 + 5]) {
          const content = new Uint8Array(randomBytes(size))
          const path = yield* Effect.scoped(
            Effect.gen(function*() {
              const p = yield* sh.uploadTemp(content)
              expect(p).toMatch(/\/mcp\.[A-Za-z0-9]{12}$/)
              expect((yield* sh.output(["stat", "-c", "%a %s", "--", p])).trim()).toBe(`600 ${size}`)
              expect((yield* sh.output(["sha256sum", "--", p])).split(" ")[0]).toBe(sha256(content))
              return p
            })
          )
          paths.push(path)
          expect((yield* sh.exec(["test", "-e", path])).exitCode).toBe(1)
        }
        expect(new Set(paths).size).toBe(2)
      })
    ), 60_000)

  it.live("uploadTemp into a missing MCP_NODE_TEMP_DIR says which setting to fix", () =>
    withStack(
      target().options({ nodeTempDir: "/nonexistent-homelab-mcp-temp" }),
      Effect.gen(function*() {
        const e = yield* Effect.flip(Effect.scoped((yield* NodeShell).uploadTemp(new Uint8Array(3))))
        expect(e).toMatchObject({ _tag: "CommandFailed" })
        expect(e.message).toContain("MCP_NODE_TEMP_DIR (/nonexistent-homelab-mcp-temp)")
      })
    ))

  it.live("concurrent callers share one connection", () =>
    withStack(
      target().options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const results = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) => sh.exec(["echo", String(i)])),
          { concurrency: "unbounded" }
        )
        expect(results.map((r) => r.stdout)).toStrictEqual(["0\n", "1\n", "2\n", "3\n", "4\n", "5\n"])
        const stats = yield* (yield* Ssh.Ssh).stats
        expect(stats.connects).toBe(1)
        expect(stats.presentedFingerprint).toBe(target().fingerprint)
      })
    ))

  it.live("a host-key mismatch is refused with expected and presented, and not retried", () =>
    Effect.gen(function*() {
      const t = target()
      const started = Date.now()
      const program = Effect.gen(function*() {
        const sh = yield* NodeShell
        const first = yield* Effect.flip(sh.exec(["true"]))
        const second = yield* Effect.flip(sh.exec(["true"]))
        const stats = yield* (yield* Ssh.Ssh).stats
        return { first, second, stats }
      })
      const { first, second, stats } = yield* withStack(
        t.options({ hostKeyFingerprint: t.wrongFingerprint, reconnectDelayMs: 20_000 }),
        program
      )
      expect(first._tag).toBe("SshHostKeyMismatch")
      if (first._tag === "SshHostKeyMismatch") {
        expect(first.expected).toBe(t.wrongFingerprint)
        expect(first.presented).toBe(t.fingerprint)
        expect(first.hint).toMatch(/ssh-keygen -lf .* re-run setup/)
      }
      expect(second._tag).toBe("SshHostKeyMismatch")
      expect(stats.connects).toBe(0)
      expect(Date.now() - started).toBeLessThan(8_000)
    }))
}
