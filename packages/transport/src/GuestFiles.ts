/**
 * `GuestFiles` on `NodeShell` (transport-trust.md §4.1, §4.3; lessons C1, C2): containers through
 * `pct exec` (readlink, stat, mv, sha256sum), `pct pull`/`pct push` and node temp files over SFTP; VMs through
 * the guest agent via `pvesh` after an agent ping. Existence is decided inside the guest, never from a copy.
 */
import { createHash, randomBytes } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import {
  CommandFailed,
  ContentTooLarge,
  FileNotFound,
  InvalidInput,
  NotARegularFile,
  ParentDirectoryMissing,
  WriteVerificationFailed
} from "@homelab-mcp/core/Errors"
import { GuestFiles, type PctStaged, type PctWriteOptions } from "@homelab-mcp/core/capabilities/GuestFiles"
import { type ExecResult, NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { validateAbsolutePath, validateId, validateMode, validateNodeName, validateVmid } from "@homelab-mcp/core/shell/Quote"
import { agentUnavailable, fileMissing, fileProblem, firstLine, notRunning, parseFileRead, parseQmExec, parseSha256Sum, parseStat } from "./internal/sshGuest.js"
import { PARSER_MAX_BYTES } from "./internal/sshOutput.js"
import * as NodeShellLive from "./NodeShell.js"
import * as Ssh from "./Ssh.js"

/** Proxmox caps agent `content` at 61440 base64 characters = 46080 raw bytes per call. */
export const QM_WRITE_MAX_BYTES = 46_080
/** At most 16 MiB per agent file-read call. */
export const QM_READ_MAX_BYTES = 16 * 1024 * 1024
/** `pvesh create <api path> --file <path> --content <stdin> --encode 0`, with caller data as `$1`/`$2`. */
export const QM_FILE_WRITE_SCRIPT = 'exec pvesh create "$1" --file "$2" --content "$(cat)" --encode 0'

/**
 * The `stat` of a container file, in the C locale: GNU stat translates `%F` ("reguläre Datei") and its
 * errors, and `pct exec` passes the node session's LANG/LANGUAGE into the container.
 */
export const PCT_STAT_ARGV = ["env", "LC_ALL=C", "stat", "-c", "%F|%s|%a|%u|%g", "--"] as const

/**
 * Resolves `$1`, then prints it, NUL, its stat line (or `ABSENT`), NUL, and the bytes of a regular file
 * of at most `$2` bytes. Exit 3: the parent directory is missing; exit 4: stat failed on an existing path.
 * Runs in the C locale (see `PCT_STAT_ARGV`).
 */
export const PCT_READ_STATE_SCRIPT = [
  "export LC_ALL=C",
  'r=$(readlink -f -- "$1") || exit 3',
  '[ -n "$r" ] || exit 3',
  "printf '%s\\0' \"$r\"",
  'if [ ! -e "$r" ] && [ ! -L "$r" ]; then printf \'ABSENT\\0\'; exit 0; fi',
  "s=$(stat -c '%F|%s|%a|%u|%g' -- \"$r\") || exit 4",
  "printf '%s\\0' \"$s\"",
  'case "$s" in "regular file|"*|"regular empty file|"*) n=${s#*|}; n=${n%%|*}; if [ "$n" -le "$2" ]; then exec cat -- "$r"; fi;; esac'
].join("\n")

/**
 * Renames the pushed sibling `$1` over `$2`, then prints `$2`'s sha256 (one `pct exec` for both).
 * Exit 97: the rename failed and the target is untouched; any other failure comes from the hash.
 */
export const PCT_INSTALL_SCRIPT = 'mv -f -- "$1" "$2" || exit 97\nexec sha256sum -- "$2"'

/** The install script's exit code for a failed rename. */
const RENAME_FAILED = 97

/** File transfers get 120 s. */
const TRANSFER_MS = 120_000

const right = <A, E>(e: Either.Either<A, E>) => Either.match(e, { onLeft: Effect.fail, onRight: Effect.succeed })

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

const splitPath = (path: string) => {
  const i = path.lastIndexOf("/")
  return { dir: i <= 0 ? "/" : path.slice(0, i), name: path.slice(i + 1) }
}

/** Builds the service for `node` (used in `pvesh` paths). */
export const make = (options: { readonly node: string }) =>
  Effect.gen(function*() {
    const shell = yield* NodeShell
    const node = yield* right(validateNodeName(options.node)).pipe(Effect.orDie)

    const args = (vmid: number, path: string) =>
      Effect.all([right(validateVmid(vmid)), right(validateAbsolutePath(path))])

    /** Fails with the guest-state error a `pct` failure means, else `CommandFailed`. */
    const pctFailure = (vmid: number, what: string, r: ExecResult) => {
      const stopped = notRunning(vmid, r.stderr)
      if (stopped) return Effect.fail(stopped)
      return Effect.fail(
        new CommandFailed({ command: what, exitCode: r.exitCode, stderr: firstLine(r.stderr) || "no output" })
      )
    }

    const pctResolve = Effect.fn("GuestFiles.pctResolve")(function*(vmid: number, path: string) {
      const [v, p] = yield* args(vmid, path)
      const r = yield* shell.exec(["pct", "exec", v, "--", "readlink", "-f", "--", p])
      if (r.exitCode === 0 && r.stdout.trim() !== "") return Option.some(r.stdout.replace(/\n$/, ""))
      if (r.exitCode === 1 && r.stdout === "") return Option.none()
      return yield* pctFailure(vmid, `pct exec ${v} -- readlink -f`, r)
    })

    const pctStat = Effect.fn("GuestFiles.pctStat")(function*(vmid: number, path: string) {
      const [v, p] = yield* args(vmid, path)
      const r = yield* shell.exec(["pct", "exec", v, "--", ...PCT_STAT_ARGV, p])
      if (r.exitCode === 0) {
        const parsed = parseStat(r.stdout)
        if (parsed) return Option.some(parsed)
        return yield* new CommandFailed({ command: `pct exec ${v} -- stat`, exitCode: 0, stderr: `unexpected output ${JSON.stringify(r.stdout.slice(0, 200))}` })
      }
      if (/No such file or directory/.test(r.stderr)) return Option.none()
      return yield* pctFailure(vmid, `pct exec ${v} -- stat`, r)
    })

    const pctRead = Effect.fn("GuestFiles.pctRead")(function*(
      vmid: number,
      path: string,
      opts: { readonly expectedSize: number; readonly offset?: number; readonly length?: number }
    ) {
      const [v, p] = yield* args(vmid, path)
      return yield* Effect.scoped(
        Effect.gen(function*() {
          const tmp = yield* shell.tempFile
          const r = yield* shell.exec(["pct", "pull", v, p, tmp], { timeoutMs: TRANSFER_MS })
          if (r.exitCode !== 0) {
            if (fileMissing(r.stderr) && notRunning(vmid, r.stderr) === null) return yield* new FileNotFound({ path })
            return yield* pctFailure(vmid, `pct pull ${v}`, r)
          }
          const size = yield* shell.fileSize(tmp)
          if (size !== opts.expectedSize) {
            if (fileMissing(r.stderr) || fileMissing(r.stdout)) return yield* new FileNotFound({ path })
            return yield* new CommandFailed({
              command: `pct pull ${v}`,
              exitCode: 0,
              stderr: `copied ${size} bytes of ${opts.expectedSize}${r.stderr ? `: ${firstLine(r.stderr)}` : ""}`
            })
          }
          const offset = opts.offset ?? 0
          const length = opts.length ?? Math.max(0, size - offset)
          return yield* shell.readFile(tmp, { offset, length })
        })
      )
    })

    const pctReadState = Effect.fn("GuestFiles.pctReadState")(function*(
      vmid: number,
      path: string,
      opts: { readonly maxBytes: number }
    ) {
      const [v, p] = yield* args(vmid, path)
      const max = Math.max(0, Math.floor(opts.maxBytes))
      const what = `pct exec ${v} -- sh -c <read state>`
      const out = yield* shell
        .outputBytes(["pct", "exec", v, "--", "sh", "-c", PCT_READ_STATE_SCRIPT, "sh", p, String(max)], {
          timeoutMs: TRANSFER_MS,
          maxBytes: max + 8192
        })
        .pipe(
          Effect.map(Either.right),
          Effect.catchTag("CommandFailed", (e) => {
            if (e.exitCode === 3) return Effect.succeed(Either.left("parent-missing" as const))
            const stopped = notRunning(vmid, e.stderr)
            return Effect.fail(stopped ?? new CommandFailed({ command: what, exitCode: e.exitCode, stderr: firstLine(e.stderr) || e.stderr }))
          })
        )
      if (Either.isLeft(out)) return { resolved: Option.none(), file: Option.none() }
      const bytes = Buffer.from(out.right.buffer, out.right.byteOffset, out.right.byteLength)
      const nul1 = bytes.indexOf(0)
      const nul2 = nul1 < 0 ? -1 : bytes.indexOf(0, nul1 + 1)
      if (nul1 <= 0 || nul2 < 0) {
        return yield* new CommandFailed({ command: what, exitCode: 0, stderr: `unexpected output ${JSON.stringify(bytes.subarray(0, 200).toString("latin1"))}` })
      }
      const resolved = bytes.subarray(0, nul1).toString("utf8")
      const statLine = bytes.subarray(nul1 + 1, nul2).toString("utf8")
      if (statLine === "ABSENT") return { resolved: Option.some(resolved), file: Option.none() }
      const stat = parseStat(statLine)
      if (!stat) return yield* new CommandFailed({ command: what, exitCode: 0, stderr: `unexpected stat ${JSON.stringify(statLine.slice(0, 200))}` })
      const rest = bytes.subarray(nul2 + 1)
      if (stat.type !== "file" || stat.size > max) {
        return { resolved: Option.some(resolved), file: Option.some({ stat, content: null }) }
      }
      if (rest.length !== stat.size) {
        return yield* new CommandFailed({ command: what, exitCode: 0, stderr: `read ${rest.length} bytes of ${stat.size} (the file changed while it was read)` })
      }
      return { resolved: Option.some(resolved), file: Option.some({ stat, content: new Uint8Array(rest.buffer, rest.byteOffset, rest.byteLength) }) }
    })

    const pctStage = Effect.fn("GuestFiles.pctStage")(function*(content: Uint8Array) {
      const own = yield* Scope.fork(yield* Scope.Scope, ExecutionStrategy.sequential)
      const release = Scope.close(own, Exit.void)
      const nodePath = yield* Scope.extend(shell.uploadTemp(content), own).pipe(Effect.onError(() => release))
      const staged: PctStaged = { nodePath, content, release }
      return staged
    })

    const pctWrite = Effect.fn("GuestFiles.pctWrite")(function*(
      vmid: number,
      path: string,
      content: Uint8Array,
      opts: PctWriteOptions
    ) {
      const [v, p] = yield* args(vmid, path)
      const mode = yield* right(validateMode(opts.mode))
      const uid = yield* right(validateId(opts.uid, "uid"))
      const gid = yield* right(validateId(opts.gid, "gid"))
      const { dir, name } = splitPath(p)
      if (name === "") return yield* new InvalidInput({ reason: `${path} names a directory, not a file.`, key: "path" })
      const guestTmp = `${dir === "/" ? "" : dir}/.${name}.mcp-${randomBytes(6).toString("hex")}`
      const removeGuestTmp = Effect.ignore(shell.exec(["pct", "exec", v, "--", "rm", "-f", "--", guestTmp]))
      // node temp file -> hidden sibling in the guest -> rename over the target and hash it back; the node
      // temp file is removed beside the rename, as nothing needs it once pushed
      const install = (upload: PctStaged) =>
        Effect.gen(function*() {
          const push = yield* shell.exec(
            ["pct", "push", v, upload.nodePath, guestTmp, "--perms", mode, "--user", uid, "--group", gid],
            { timeoutMs: TRANSFER_MS }
          )
          if (push.exitCode !== 0 || fileMissing(push.stderr)) {
            if (fileMissing(push.stderr)) return yield* new ParentDirectoryMissing({ path })
            return yield* pctFailure(vmid, `pct push ${v}`, push)
          }
          const [, done] = yield* Effect.all(
            [upload.release, shell.exec(["pct", "exec", v, "--", "sh", "-c", PCT_INSTALL_SCRIPT, "sh", guestTmp, p])],
            { concurrency: 2 }
          )
          if (done.exitCode === RENAME_FAILED || notRunning(vmid, done.stderr)) {
            return yield* pctFailure(vmid, `pct exec ${v} -- mv`, done)
          }
          return done
        })
      const staged = opts.staged !== undefined && opts.staged.content === content ? Effect.succeed(opts.staged) : pctStage(content)
      const done = yield* Effect.scoped(Effect.flatMap(staged, (upload) => Effect.ensuring(install(upload), upload.release))).pipe(
        Effect.onError(() => removeGuestTmp)
      )
      const expected = sha256(content)
      // the rename happened: a hash that cannot be read is a write that cannot be verified, not a failed one
      if (done.exitCode !== 0) {
        const detail = firstLine(done.stderr) || `exit ${done.exitCode}`
        return yield* new WriteVerificationFailed({ path, expected, actual: `unreadable (sha256sum: ${detail})` })
      }
      const actual = parseSha256Sum(done.stdout)
      if (actual !== expected) return yield* new WriteVerificationFailed({ path, expected, actual })
      return { sha256: actual }
    })

    const pctRemove = Effect.fn("GuestFiles.pctRemove")(function*(vmid: number, path: string) {
      const [v, p] = yield* args(vmid, path)
      const r = yield* shell.exec(["pct", "exec", v, "--", "rm", "-f", "--", p])
      if (r.exitCode !== 0) return yield* pctFailure(vmid, `pct exec ${v} -- rm`, r)
    })

    /** Maps a failed `qm`/`pvesh` call to the agent or guest error it means, else `CommandFailed`. */
    const qmFailure = (vmid: number, what: string, r: ExecResult) =>
      Effect.fail(
        agentUnavailable(vmid, r.stderr) ??
          notRunning(vmid, r.stderr) ??
          new CommandFailed({ command: what, exitCode: r.exitCode, stderr: firstLine(r.stderr) || "no output" })
      )

    /**
     * Maps a failed agent file-read or file-write of `path`: agent and guest states first, then the errno
     * text alone decides (`fileProblem`): a directory is `NotARegularFile`, "No such file or directory" is
     * `missing` (`FileNotFound` for a read; `ParentDirectoryMissing` for a write, which creates the file).
     */
    const qmFileFailure = <E>(vmid: number, path: string, missing: E, what: string, r: ExecResult) => {
      if (agentUnavailable(vmid, r.stderr) !== null || notRunning(vmid, r.stderr) !== null) return qmFailure(vmid, what, r)
      const problem = fileProblem(r.stderr)
      if (problem === "directory") return Effect.fail(new NotARegularFile({ path, fileType: "directory" }))
      if (problem === "missing") return Effect.fail(missing)
      return qmFailure(vmid, what, r)
    }

    const ping = (vmid: number, v: string) =>
      Effect.gen(function*() {
        const r = yield* shell.exec(["qm", "agent", v, "ping"])
        if (r.exitCode !== 0) return yield* qmFailure(vmid, `qm agent ${v} ping`, r)
      })

    const qmReadRaw = (vmid: number, v: string, path: string, offset: number, count: number) =>
      Effect.gen(function*() {
        const r = yield* shell.exec(
          [
            "pvesh", "get", `/nodes/${node}/qemu/${v}/agent/file-read`,
            "--file", path, "--offset", String(offset), "--count", String(count),
            "--decode", "0", "--output-format", "json"
          ],
          { timeoutMs: TRANSFER_MS, maxOutputBytes: PARSER_MAX_BYTES * 2 }
        )
        if (r.exitCode !== 0) return yield* qmFileFailure(vmid, path, new FileNotFound({ path }), "pvesh get …/agent/file-read", r)
        const parsed = r.stdoutTruncated ? null : parseFileRead(r.stdout)
        if (parsed === null) {
          return yield* new CommandFailed({
            command: "pvesh get …/agent/file-read",
            exitCode: 0,
            stderr: r.stdoutTruncated ? "output too large" : "unexpected agent output"
          })
        }
        return { content: new Uint8Array(parsed.content), eof: !parsed.truncated }
      })

    const qmRead = Effect.fn("GuestFiles.qmRead")(function*(
      vmid: number,
      path: string,
      opts: { readonly offset: number; readonly count: number }
    ) {
      const [v, p] = yield* args(vmid, path)
      if (!Number.isSafeInteger(opts.offset) || opts.offset < 0) {
        return yield* new InvalidInput({ reason: "offset must be an integer >= 0.", key: "offset" })
      }
      if (!Number.isSafeInteger(opts.count) || opts.count < 1 || opts.count > QM_READ_MAX_BYTES) {
        return yield* new InvalidInput({ reason: `count must be 1 to ${QM_READ_MAX_BYTES}.`, key: "count" })
      }
      yield* ping(vmid, v)
      return yield* qmReadRaw(vmid, v, p, opts.offset, opts.count)
    })

    const qmWrite = Effect.fn("GuestFiles.qmWrite")(function*(vmid: number, path: string, content: Uint8Array) {
      if (content.length > QM_WRITE_MAX_BYTES) {
        return yield* new ContentTooLarge({
          bytes: content.length,
          limit: QM_WRITE_MAX_BYTES,
          advice: "The guest agent takes at most 46080 bytes per write; fetch the file inside the VM with qm_exec, or split it."
        })
      }
      const [v, p] = yield* args(vmid, path)
      yield* ping(vmid, v)
      const b64 = Buffer.from(content).toString("base64")
      // The base64 (up to 61440 characters) travels on stdin rather than in the exec request, so the request
      // stays small for every SSH server; the script is a constant and the path arrives as a parameter.
      const w = yield* shell.exec(
        ["sh", "-c", QM_FILE_WRITE_SCRIPT, "sh", `/nodes/${node}/qemu/${v}/agent/file-write`, p],
        { timeoutMs: TRANSFER_MS, stdin: b64 }
      )
      if (w.exitCode !== 0) return yield* qmFileFailure(vmid, path, new ParentDirectoryMissing({ path }), "pvesh create …/agent/file-write", w)
      const back = yield* qmReadRaw(vmid, v, p, 0, content.length + 1)
      const expected = sha256(content)
      const actual = sha256(back.content)
      if (actual !== expected) return yield* new WriteVerificationFailed({ path, expected, actual })
      return { sha256: actual }
    })

    const qmRemove = Effect.fn("GuestFiles.qmRemove")(function*(vmid: number, path: string) {
      const [v, p] = yield* args(vmid, path)
      const r = yield* shell.exec(["qm", "guest", "exec", v, "--timeout", "30", "--", "rm", "-f", "--", p], {
        timeoutMs: 30_000,
        nested: true
      })
      if (r.exitCode !== 0) return yield* qmFailure(vmid, `qm guest exec ${v} -- rm`, r)
      const json = parseQmExec(r.stdout)
      if (json === null || !json.exited || json.exitcode !== 0) {
        return yield* new CommandFailed({
          command: `qm guest exec ${v} -- rm -f`,
          exitCode: json?.exitcode ?? null,
          stderr: json?.errData || "the agent did not report success"
        })
      }
    })

    return GuestFiles.of({ pctResolve, pctStat, pctRead, pctReadState, pctStage, pctWrite, pctRemove, qmRead, qmWrite, qmRemove })
  })

/** `GuestFiles` for a fixed node name on a `NodeShell` provided elsewhere. */
export const layerWithNode = (node: string): Layer.Layer<GuestFiles, never, NodeShell> =>
  Layer.effect(GuestFiles, make({ node }))

/** `GuestFiles` taking the node name from `PveApi` (which exists at every tier). */
export const layerFromSsh: Layer.Layer<GuestFiles, never, NodeShell | PveApi> = Layer.effect(
  GuestFiles,
  Effect.flatMap(PveApi, (api) => make({ node: api.node }))
)

/** `GuestFiles` plus `NodeShell` and their own connection from plain options. */
export const layer = (options: Ssh.SshOptions & { readonly node: string }) =>
  layerWithNode(options.node).pipe(Layer.provideMerge(NodeShellLive.layerFromSsh), Layer.provideMerge(Ssh.layer(options)))

/** `GuestFiles` plus `NodeShell` on the shared connection from the environment (node name from `PveApi`). */
export const layerConfig = layerFromSsh.pipe(
  Layer.provideMerge(NodeShellLive.layerFromSsh),
  Layer.provideMerge(Ssh.layerConfig)
)
