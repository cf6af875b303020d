/**
 * `NodeShell` over the shared SSH connection (transport-trust.md §3.3–§3.5): every command runs under the
 * node's `timeout --signal=TERM --kill-after=5 <secs>` wrapper and a client backstop, argv elements are quoted
 * by the single quoting function, output is capped per stream, and exit codes are reported as sent.
 */
import { randomBytes } from "node:crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { CommandFailed, InvalidInput, type SshError, SshTimeout } from "@homelab-mcp/core/Errors"
import {
  type ExecOptions,
  type ExecResult,
  NodeShell,
  type ScriptOptions
} from "@homelab-mcp/core/capabilities/NodeShell"
import { checkArgv, quote, validateAbsolutePath } from "@homelab-mcp/core/shell/Quote"
import { backstopMs, isTimedOut, wrapArgv, wrapperMs } from "./internal/sshCommand.js"
import { PARSER_MAX_BYTES } from "./internal/sshOutput.js"
import * as Sftp from "./internal/sshSftp.js"
import * as Ssh from "./Ssh.js"

/** The fixed node command limit (transport-trust.md §3.3). */
export const FIXED_TIMEOUT_MS = 30_000

/** How a command line is built and judged. */
interface Plan {
  readonly what: string
  readonly commandText: string
  readonly requestedMs: number
  readonly wrapper: number
  readonly onBackstop: "fail" | "partial"
  readonly stdin: Uint8Array | string | undefined
  readonly maxOutputBytes: number
}

const describe = (argv: ReadonlyArray<string>): string => {
  const text = argv.join(" ")
  return text.length > 160 ? text.slice(0, 157) + "..." : text
}

/** Builds the service from the connection. */
export const make = Effect.gen(function*() {
  const ssh = yield* Ssh.Ssh
  const settings = ssh.settings
  const tempDir = settings.nodeTempDir.replace(/\/+$/, "")

  const run = (plan: Plan): Effect.Effect<ExecResult, SshError> =>
    ssh
      .exec(plan.commandText, {
        what: plan.what,
        backstopMs: backstopMs(plan.wrapper, settings.commandTimeoutGraceMs),
        maxOutputBytes: plan.maxOutputBytes,
        ...(plan.stdin !== undefined ? { stdin: plan.stdin } : {})
      })
      .pipe(
        Effect.flatMap((raw) => {
          if (raw.backstopFired && plan.onBackstop === "fail") {
            return Effect.fail(
              new SshTimeout({
                what: plan.what,
                timeoutMs: backstopMs(plan.wrapper, settings.commandTimeoutGraceMs)
              })
            )
          }
          const out = raw.stdout.result()
          const err = raw.stderr.result()
          return Effect.succeed<ExecResult>({
            exitCode: raw.exitCode,
            signal: raw.signal,
            timedOut: raw.backstopFired || isTimedOut(raw.exitCode, raw.signal, raw.durationMs, plan.requestedMs),
            stdout: out.text,
            stderr: err.text,
            stdoutBytes: out.bytes,
            stderrBytes: err.bytes,
            stdoutTruncated: out.truncated,
            stderrTruncated: err.truncated,
            durationMs: raw.durationMs
          })
        })
      )

  const checked = (argv: ReadonlyArray<string>) =>
    Either.match(checkArgv(argv), { onLeft: (e) => Effect.fail(e), onRight: (a) => Effect.succeed(a) })

  const exec = Effect.fn("NodeShell.exec")(function*(argv: ReadonlyArray<string>, options?: ExecOptions) {
    const args = yield* checked(argv)
    const requestedMs = options?.timeoutMs ?? FIXED_TIMEOUT_MS
    const wrapper = wrapperMs(requestedMs, options?.nested ?? false)
    return yield* run({
      what: describe(args),
      commandText: wrapArgv(args, wrapper),
      requestedMs,
      wrapper,
      onBackstop: options?.onBackstop ?? "fail",
      stdin: options?.stdin,
      maxOutputBytes: options?.maxOutputBytes ?? settings.outputMaxBytes
    })
  })

  const execScript = Effect.fn("NodeShell.execScript")(function*(command: string, options?: ScriptOptions) {
    const args = yield* checked(["bash", "-c", command])
    const requestedMs = options?.timeoutMs ?? FIXED_TIMEOUT_MS
    let prefix = ""
    if (options?.cwd !== undefined) {
      const cwd = yield* Either.match(validateAbsolutePath(options.cwd, "cwd"), {
        onLeft: (e) => Effect.fail(e),
        onRight: (p) => Effect.succeed(p)
      })
      prefix = `cd ${quote(cwd)} && `
    }
    return yield* run({
      what: "execute",
      commandText: prefix + wrapArgv(args, requestedMs),
      requestedMs,
      wrapper: requestedMs,
      onBackstop: "partial",
      stdin: options?.stdin,
      maxOutputBytes: options?.maxOutputBytes ?? settings.outputMaxBytes
    })
  })

  /** Runs a command that must exit 0 and returns its whole stdout, at most `maxBytes`. */
  const wholeOutput = (argv: ReadonlyArray<string>, options: Omit<ExecOptions, "onBackstop" | "maxOutputBytes"> | undefined, maxBytes: number) =>
    Effect.gen(function*() {
      const args = yield* checked(argv)
      const requestedMs = options?.timeoutMs ?? FIXED_TIMEOUT_MS
      const wrapper = wrapperMs(requestedMs, options?.nested ?? false)
      const what = describe(args)
      const raw = yield* ssh.exec(wrapArgv(args, wrapper), {
        what,
        backstopMs: backstopMs(wrapper, settings.commandTimeoutGraceMs),
        maxOutputBytes: maxBytes,
        ...(options?.stdin !== undefined ? { stdin: options.stdin } : {})
      })
      if (raw.backstopFired || isTimedOut(raw.exitCode, raw.signal, raw.durationMs, requestedMs)) {
        return yield* new SshTimeout({ what, timeoutMs: requestedMs })
      }
      const stderr = raw.stderr.result().text
      if (raw.exitCode !== 0) {
        return yield* new CommandFailed({
          command: what,
          exitCode: raw.exitCode,
          stderr: (raw.signal !== null ? `killed by ${raw.signal}. ` : "") + capText(stderr)
        })
      }
      const whole = raw.stdout.whole()
      if (whole === null) {
        return yield* new CommandFailed({
          command: what,
          exitCode: raw.exitCode,
          stderr: `output too large: ${raw.stdout.bytes} bytes exceed the ${maxBytes}-byte cap`
        })
      }
      return whole
    })

  const output = Effect.fn("NodeShell.output")(function*(
    argv: ReadonlyArray<string>,
    options?: Omit<ExecOptions, "onBackstop" | "maxOutputBytes">
  ) {
    const whole = yield* wholeOutput(argv, options, PARSER_MAX_BYTES)
    return whole.toString("utf8")
  })

  const outputBytes = Effect.fn("NodeShell.outputBytes")(function*(
    argv: ReadonlyArray<string>,
    options: Omit<ExecOptions, "onBackstop" | "maxOutputBytes"> & { readonly maxBytes: number }
  ) {
    const whole = yield* wholeOutput(argv, options, options.maxBytes)
    return new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength)
  })

  const tempFile = Effect.acquireRelease(
    output(["mktemp", "-p", settings.nodeTempDir, "mcp.XXXXXXXX"]).pipe(
      Effect.map((s) => s.trim()),
      Effect.flatMap((p) =>
        p.startsWith(settings.nodeTempDir.replace(/\/+$/, "") + "/") && !/[\n\0]/.test(p)
          ? Effect.succeed(p)
          : Effect.fail(new CommandFailed({ command: "mktemp", exitCode: 0, stderr: `unexpected temp path ${JSON.stringify(p)}` }))
      )
    ),
    (p) => Effect.ignore(exec(["rm", "-f", "--", p]))
  )

  const uploadTemp = Effect.fn("NodeShell.uploadTemp")(function*(content: Uint8Array) {
    const path = `${tempDir}/mcp.${tempName()}`
    // created exclusively (never another's file), uninterruptibly: once the open is sent, the scope removes it
    const handle = yield* Effect.acquireRelease(
      ssh.withSftp((sftp) => Effect.map(Sftp.open(sftp, path, "wx", 0o600), (h) => ({ sftp, h }))).pipe(
        Effect.catchTags({
          FileNotFound: () => Effect.fail(tempDirFailure(path, "no such directory")),
          // a failed open of the file, not a node without an SFTP subsystem (whose error says so)
          CommandFailed: (e) => Effect.fail(e.command.startsWith("sftp open") ? tempDirFailure(path, e.stderr) : e)
        })
      ),
      () => Effect.ignore(ssh.withSftp((sftp) => Sftp.unlink(sftp, path)))
    )
    yield* Sftp.writeAll(handle.sftp, path, handle.h, content).pipe(
      Effect.ensuring(Effect.ignore(Sftp.close(handle.sftp, path, handle.h))),
      transferLimit(`SFTP upload to ${path}`)
    )
    return path
  })

  const writeFile = Effect.fn("NodeShell.writeFile")(function*(path: string, content: Uint8Array) {
    yield* requireAbsolute(path)
    yield* ssh.withSftp((sftp) =>
      Sftp.withHandle(sftp, path, "w", (h) => Sftp.writeAll(sftp, path, h, content))
    ).pipe(transferLimit(`SFTP upload to ${path}`))
  })

  const readFile = Effect.fn("NodeShell.readFile")(function*(
    path: string,
    window?: { readonly offset: number; readonly length: number }
  ) {
    yield* requireAbsolute(path)
    const bytes = yield* ssh.withSftp((sftp) =>
      Sftp.withHandle(sftp, path, "r", (h) =>
        window === undefined ? Sftp.readAll(sftp, path, h) : Sftp.readRange(sftp, path, h, window.offset, window.length))
    ).pipe(transferLimit(`SFTP download of ${path}`))
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  })

  const fileSize = Effect.fn("NodeShell.fileSize")(function*(path: string) {
    yield* requireAbsolute(path)
    const s = yield* ssh.withSftp((sftp) => Sftp.stat(sftp, path))
    return s.size
  })

  return NodeShell.of({ exec, execScript, output, outputBytes, tempFile, uploadTemp, writeFile, readFile, fileSize })
})

const capText = (s: string): string => (s.length > 4096 ? s.slice(0, 2048) + "…" + s.slice(-2048) : s)

const requireAbsolute = (path: string): Effect.Effect<string, InvalidInput> =>
  Either.match(validateAbsolutePath(path), { onLeft: (e) => Effect.fail(e), onRight: (p) => Effect.succeed(p) })

/** The temp directory refused a new file: says which setting names it. */
const tempDirFailure = (path: string, detail: string) =>
  new CommandFailed({
    command: `sftp open ${path}`,
    exitCode: null,
    stderr: `cannot create a node temp file in MCP_NODE_TEMP_DIR (${path.slice(0, path.lastIndexOf("/")) || "/"}): ${detail}; it must be an existing directory root can write`
  })

const NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/** Twelve random letters and digits (71 bits), as mktemp's X's but longer. */
const tempName = (): string => Array.from(randomBytes(12), (b) => NAME_CHARS[b % NAME_CHARS.length]).join("")

const transferLimit = (what: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.timeoutFail({
      duration: Duration.millis(Sftp.TRANSFER_TIMEOUT_MS),
      onTimeout: () => new SshTimeout({ what, timeoutMs: Sftp.TRANSFER_TIMEOUT_MS })
    })
  )

/** `NodeShell` on an `Ssh` connection provided elsewhere (share one connection across services). */
export const layerFromSsh: Layer.Layer<NodeShell, never, Ssh.Ssh> = Layer.effect(NodeShell, make)

/** `NodeShell` plus its own `Ssh` connection from plain options. */
export const layer = (options: Ssh.SshOptions) => layerFromSsh.pipe(Layer.provideMerge(Ssh.layer(options)))

/** `NodeShell` plus the shared `Ssh` connection from the environment. */
export const layerConfig = layerFromSsh.pipe(Layer.provideMerge(Ssh.layerConfig))
