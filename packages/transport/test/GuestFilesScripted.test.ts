/**
 * GuestFiles pipelines on a scripted NodeShell that fails on any command it was not given: exact command
 * shapes, both temps removed on every failure, hash verification, the agent limits and read-back.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { CommandFailed } from "@homelab-mcp/core/Errors"
import { GuestFiles } from "@homelab-mcp/core/capabilities/GuestFiles"
import { type ExecResult, NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import * as GuestFilesLive from "../src/GuestFiles.js"

const ok = (over: Partial<ExecResult> = {}): ExecResult => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  stdout: "",
  stderr: "",
  stdoutBytes: 0,
  stderrBytes: 0,
  stdoutTruncated: false,
  stderrTruncated: false,
  durationMs: 1,
  ...over
})

type Rule = { readonly match: (argv: ReadonlyArray<string>) => boolean; readonly reply: (argv: ReadonlyArray<string>) => ExecResult }

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex")

/** A scripted NodeShell: each exec must match the next rule in order; temp files and SFTP are recorded. */
const scripted = (rules: Array<Rule>, files: Record<string, Uint8Array> = {}) => {
  const log: Array<string> = []
  const stdins: Array<string> = []
  const queue = [...rules]
  let temps = 0
  const die = (what: string) => Effect.dieMessage(`scripted NodeShell: unexpected ${what}`)
  const sftpWrite = (p: string, content: Uint8Array) =>
    Effect.sync(() => {
      files[p] = content
      log.push(`sftp-write ${p} ${content.length}`)
    })
  /** `uploadTemp`'s exclusive create over SFTP, removed over SFTP with the scope. */
  const create = Effect.acquireRelease(
    Effect.sync(() => {
      const p = `/tmp/mcp.T${++temps}`
      files[p] = new Uint8Array()
      log.push(`sftp-create ${p}`)
      return p
    }),
    (p) => Effect.sync(() => {
      delete files[p]
      log.push(`sftp-unlink ${p}`)
    })
  )
  const service = NodeShell.of({
    exec: (argv, options) =>
      Effect.suspend(() => {
        log.push(argv.join(" "))
        if (options?.stdin !== undefined) stdins.push(Buffer.from(options.stdin).toString("utf8"))
        const rule = queue[0]
        if (rule === undefined || !rule.match(argv)) return die(`command ${JSON.stringify(argv)}`)
        queue.shift()
        return Effect.succeed(rule.reply(argv))
      }),
    outputBytes: () => die("outputBytes"),
    execScript: () => die("execScript"),
    output: () => die("output"),
    tempFile: Effect.acquireRelease(
      Effect.sync(() => {
        const p = `/tmp/mcp.T${++temps}`
        files[p] = new Uint8Array()
        log.push(`mktemp ${p}`)
        return p
      }),
      (p) => Effect.sync(() => {
        delete files[p]
        log.push(`rm ${p}`)
      })
    ),
    uploadTemp: (content) => Effect.tap(create, (p) => sftpWrite(p, content)),
    writeFile: (p, content) => sftpWrite(p, content),
    readFile: (p, window) =>
      Effect.sync(() => {
        const all = files[p] ?? new Uint8Array()
        return window ? all.subarray(window.offset, window.offset + window.length) : all
      }),
    fileSize: (p) => Effect.sync(() => files[p]?.length ?? 0)
  })
  const layer = GuestFilesLive.layerWithNode("pve").pipe(Layer.provide(Layer.succeed(NodeShell, service)))
  return { log, stdins, queue, files, layer, service, create }
}

const is = (...prefix: Array<string | RegExp>) => (argv: ReadonlyArray<string>) =>
  argv.length >= prefix.length && prefix.every((p, i) => (typeof p === "string" ? argv[i] === p : p.test(argv[i]!)))

describe("pctWrite", () => {
  it.effect("push to a hidden sibling with mode and owner, then mv -f and sha256sum in one pct exec", () => {
    const content = Buffer.from("new\n")
    const s = scripted([
      { match: is("pct", "push", "100", "/tmp/mcp.T1", /^\/etc\/\.hosts\.mcp-[0-9a-f]{12}$/, "--perms", "0640", "--user", "33", "--group", "33"), reply: () => ok() },
      { match: is("pct", "exec", "100", "--", "sh", "-c", GuestFilesLive.PCT_INSTALL_SCRIPT, "sh", /^\/etc\/\.hosts\.mcp-[0-9a-f]{12}$/, "/etc/hosts"), reply: () => ok({ stdout: `${sha(content)}  /etc/hosts\n` }) }
    ])
    return Effect.gen(function*() {
      const r = yield* (yield* GuestFiles).pctWrite(100, "/etc/hosts", content, { mode: "640", uid: 33, gid: 33 })
      expect(r.sha256).toBe(sha(content))
      expect(s.queue).toStrictEqual([])
      expect(s.log[0]).toBe("sftp-create /tmp/mcp.T1")
      expect(s.log[1]).toBe("sftp-write /tmp/mcp.T1 4")
      expect(s.log).toContain("sftp-unlink /tmp/mcp.T1")
      expect(GuestFilesLive.PCT_INSTALL_SCRIPT).toBe('mv -f -- "$1" "$2" || exit 97\nexec sha256sum -- "$2"')
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a staged upload is used by the write of the same content and removed after the push", () => {
    const content = Buffer.from("staged\n")
    const s = scripted([
      { match: is("pct", "push", "100", "/tmp/mcp.T1", /^\/etc\/\.hosts\.mcp-/), reply: () => ok() },
      { match: is("pct", "exec", "100", "--", "sh", "-c", GuestFilesLive.PCT_INSTALL_SCRIPT, "sh"), reply: () => ok({ stdout: `${sha(content)}  /etc/hosts\n` }) }
    ])
    return Effect.gen(function*() {
      const files = yield* GuestFiles
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* files.pctStage(content)
        expect(s.log).toStrictEqual(["sftp-create /tmp/mcp.T1", "sftp-write /tmp/mcp.T1 7"])
        yield* files.pctWrite(100, "/etc/hosts", content, { mode: "644", uid: 0, gid: 0, staged })
        // removed once pushed, beside the rename and hash; the scope's close does not remove it twice
        expect(s.log.slice(2)).toStrictEqual([
          expect.stringMatching(/^pct push 100 \/tmp\/mcp\.T1 /),
          "sftp-unlink /tmp/mcp.T1",
          expect.stringMatching(/^pct exec 100 -- sh -c /)
        ])
      }))
      expect(s.log.filter((l) => l.startsWith("sftp-unlink "))).toStrictEqual(["sftp-unlink /tmp/mcp.T1"])
      expect(s.queue).toStrictEqual([])
      expect(Object.keys(s.files)).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a staging made for another array is not used: the write uploads its own; the unused one goes with its scope", () => {
    const content = Buffer.from("mine\n")
    const s = scripted([
      { match: is("pct", "push", "100", "/tmp/mcp.T2"), reply: () => ok() },
      { match: is("pct", "exec", "100", "--", "sh", "-c", GuestFilesLive.PCT_INSTALL_SCRIPT, "sh"), reply: () => ok({ stdout: `${sha(content)}  /etc/hosts\n` }) }
    ])
    return Effect.gen(function*() {
      const files = yield* GuestFiles
      yield* Effect.scoped(Effect.gen(function*() {
        const staged = yield* files.pctStage(Buffer.from("mine\n"))
        yield* files.pctWrite(100, "/etc/hosts", content, { mode: "644", uid: 0, gid: 0, staged })
        expect(s.files["/tmp/mcp.T1"]).toBeDefined()
      }))
      expect(s.log).toContain("sftp-write /tmp/mcp.T2 5")
      expect(s.log.at(-1)).toBe("sftp-unlink /tmp/mcp.T1")
      expect(s.queue).toStrictEqual([])
      expect(Object.keys(s.files)).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a failed upload while staging removes its node temp at once", () => {
    const s = scripted([])
    const failing = NodeShell.of({
      ...s.service,
      uploadTemp: () => Effect.zipRight(s.create, Effect.fail(new CommandFailed({ command: "sftp", exitCode: null, stderr: "No space left on device" })))
    })
    const layer = GuestFilesLive.layerWithNode("pve").pipe(Layer.provide(Layer.succeed(NodeShell, failing)))
    return Effect.gen(function*() {
      const files = yield* GuestFiles
      yield* Effect.scoped(Effect.gen(function*() {
        const e = yield* Effect.flip(files.pctStage(Buffer.from("x")))
        expect(e).toMatchObject({ _tag: "CommandFailed" })
        expect(s.log).toStrictEqual(["sftp-create /tmp/mcp.T1", "sftp-unlink /tmp/mcp.T1"])
      }))
      expect(s.log).toStrictEqual(["sftp-create /tmp/mcp.T1", "sftp-unlink /tmp/mcp.T1"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failed mv (exit 97 of the install script) removes the guest temp and the node temp", () => {
    const s = scripted([
      { match: is("pct", "push"), reply: () => ok() },
      { match: is("pct", "exec", "100", "--", "sh", "-c", GuestFilesLive.PCT_INSTALL_SCRIPT, "sh"), reply: () => ok({ exitCode: 97, stderr: "mv: cannot move: Read-only file system\n" }) },
      { match: is("pct", "exec", "100", "--", "rm", "-f", "--", /^\/etc\/\.hosts\.mcp-/), reply: () => ok() }
    ])
    return Effect.gen(function*() {
      const e = yield* Effect.flip((yield* GuestFiles).pctWrite(100, "/etc/hosts", Buffer.from("x"), { mode: "0644", uid: 0, gid: 0 }))
      expect(e).toMatchObject({ _tag: "CommandFailed" })
      expect(e.message).toContain("Read-only file system")
      expect(s.queue).toStrictEqual([])
      expect(s.log).toContain("sftp-unlink /tmp/mcp.T1")
      expect(Object.keys(s.files)).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a hash mismatch after the write is WriteVerificationFailed", () => {
    const s = scripted([
      { match: is("pct", "push"), reply: () => ok() },
      { match: is("pct", "exec", "100", "--", "sh", "-c", GuestFilesLive.PCT_INSTALL_SCRIPT, "sh"), reply: () => ok({ stdout: `${"0".repeat(64)}  /etc/hosts\n` }) }
    ])
    return Effect.gen(function*() {
      const e = yield* Effect.flip((yield* GuestFiles).pctWrite(100, "/etc/hosts", Buffer.from("x"), { mode: "0644", uid: 0, gid: 0 }))
      expect(e).toMatchObject({ _tag: "WriteVerificationFailed", expected: sha("x"), actual: "0".repeat(64) })
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a hash that cannot be read after the rename is WriteVerificationFailed (the write happened), not a failed write", () => {
    const s = scripted([
      { match: is("pct", "push"), reply: () => ok() },
      { match: is("pct", "exec", "100", "--", "sh", "-c", GuestFilesLive.PCT_INSTALL_SCRIPT, "sh"), reply: () => ok({ exitCode: 1, stderr: "sha256sum: /etc/hosts: Permission denied\n" }) }
    ])
    return Effect.gen(function*() {
      const e = yield* Effect.flip((yield* GuestFiles).pctWrite(100, "/etc/hosts", Buffer.from("x"), { mode: "0644", uid: 0, gid: 0 }))
      expect(e).toMatchObject({ _tag: "WriteVerificationFailed", expected: sha("x"), actual: "unreadable (sha256sum: sha256sum: /etc/hosts: Permission denied)" })
      // the sibling was renamed away: no guest rm follows
      expect(s.queue).toStrictEqual([])
      expect(s.log.some((l) => l.startsWith("pct exec 100 -- rm"))).toBe(false)
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a container that stopped before the install is GuestNotRunning, the target untouched", () => {
    const s = scripted([
      { match: is("pct", "push"), reply: () => ok() },
      { match: is("pct", "exec", "100", "--", "sh", "-c", GuestFilesLive.PCT_INSTALL_SCRIPT, "sh"), reply: () => ok({ exitCode: 255, stderr: "CT 100 not running\n" }) },
      { match: is("pct", "exec", "100", "--", "rm", "-f", "--", /^\/etc\/\.hosts\.mcp-/), reply: () => ok() }
    ])
    return Effect.gen(function*() {
      const e = yield* Effect.flip((yield* GuestFiles).pctWrite(100, "/etc/hosts", Buffer.from("x"), { mode: "0644", uid: 0, gid: 0 }))
      expect(e).toMatchObject({ _tag: "GuestNotRunning" })
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("mode, owner, vmid and path are validated before any command", () => {
    const s = scripted([])
    return Effect.gen(function*() {
      const gf = yield* GuestFiles
      const bad = [
        gf.pctWrite(100, "/etc/hosts", Buffer.from(""), { mode: "rwx", uid: 0, gid: 0 }),
        gf.pctWrite(100, "/etc/hosts", Buffer.from(""), { mode: "0644", uid: -1, gid: 0 }),
        gf.pctWrite(99, "/etc/hosts", Buffer.from(""), { mode: "0644", uid: 0, gid: 0 }),
        gf.pctWrite(100, "relative", Buffer.from(""), { mode: "0644", uid: 0, gid: 0 }),
        gf.pctWrite(100, "/etc/", Buffer.from(""), { mode: "0644", uid: 0, gid: 0 })
      ]
      for (const b of bad) expect((yield* Effect.flip(b))._tag).toBe("InvalidInput")
      expect(s.log).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })
})

describe("pctStat / pctResolve", () => {
  it.effect("explicit existence: stat output, No such file, stopped guest", () => {
    const s = scripted([
      { match: is("pct", "exec", "100", "--", "env", "LC_ALL=C", "stat", "-c", "%F|%s|%a|%u|%g", "--", "/etc/hosts"), reply: () => ok({ stdout: "regular file|12|644|0|0\n" }) },
      { match: is("pct", "exec", "100", "--", "env", "LC_ALL=C", "stat"), reply: () => ok({ exitCode: 1, stderr: "stat: cannot statx '/x': No such file or directory\n" }) },
      { match: is("pct", "exec", "102", "--", "env", "LC_ALL=C", "stat"), reply: () => ok({ exitCode: 255, stderr: "container '102' not running!\n" }) },
      { match: is("pct", "exec", "100", "--", "readlink", "-f", "--", "/no/dir/x"), reply: () => ok({ exitCode: 1 }) },
      { match: is("pct", "exec", "100", "--", "readlink", "-f", "--", "/etc/localtime"), reply: () => ok({ stdout: "/usr/share/zoneinfo/Etc/UTC\n" }) }
    ])
    return Effect.gen(function*() {
      const gf = yield* GuestFiles
      expect(Option.getOrThrow(yield* gf.pctStat(100, "/etc/hosts"))).toMatchObject({ type: "file", size: 12, mode: "644" })
      expect(Option.isNone(yield* gf.pctStat(100, "/x"))).toBe(true)
      expect((yield* Effect.flip(gf.pctStat(102, "/x")))._tag).toBe("GuestNotRunning")
      expect(Option.isNone(yield* gf.pctResolve(100, "/no/dir/x"))).toBe(true)
      expect(yield* gf.pctResolve(100, "/etc/localtime")).toStrictEqual(Option.some("/usr/share/zoneinfo/Etc/UTC"))
    }).pipe(Effect.provide(s.layer))
  })
})

describe("agent files", () => {
  const fileRead = (content: Buffer, truncated: boolean) =>
    ok({ stdout: JSON.stringify({ "bytes-read": content.length, content: content.toString("base64"), ...(truncated ? { truncated: 1 } : {}) }) })

  it.effect("content over 46080 bytes is refused before any command", () => {
    const s = scripted([])
    return Effect.gen(function*() {
      const e = yield* Effect.flip((yield* GuestFiles).qmWrite(200, "/etc/motd", new Uint8Array(46_081)))
      expect(e).toMatchObject({ _tag: "ContentTooLarge", bytes: 46_081, limit: 46_080 })
      expect(s.log).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("ping, file-write with base64, read-back verification", () => {
    const content = Buffer.from("motd\n")
    const s = scripted([
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("sh", "-c", GuestFilesLive.QM_FILE_WRITE_SCRIPT, "sh", "/nodes/pve/qemu/200/agent/file-write", "/etc/motd"), reply: () => ok() },
      { match: is("pvesh", "get", "/nodes/pve/qemu/200/agent/file-read", "--file", "/etc/motd", "--offset", "0", "--count", "6", "--decode", "0", "--output-format", "json"), reply: () => fileRead(content, false) }
    ])
    return Effect.gen(function*() {
      const r = yield* (yield* GuestFiles).qmWrite(200, "/etc/motd", content)
      expect(r.sha256).toBe(sha(content))
      expect(s.stdins).toStrictEqual([content.toString("base64")])
      expect(s.queue).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a read-back that differs is WriteVerificationFailed; agent states are typed", () => {
    const s = scripted([
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("sh", "-c", GuestFilesLive.QM_FILE_WRITE_SCRIPT), reply: () => ok() },
      { match: is("pvesh", "get"), reply: () => fileRead(Buffer.from("other"), false) },
      { match: is("qm", "agent", "201", "ping"), reply: () => ok({ exitCode: 255, stderr: "QEMU guest agent is not running\n" }) },
      { match: is("qm", "agent", "202", "ping"), reply: () => ok({ exitCode: 255, stderr: "VM 202 is not running\n" }) },
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("pvesh", "get"), reply: () => ok({ exitCode: 255, stderr: "Agent error: failed to open file '/x': No such file or directory\n" }) },
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("pvesh", "get"), reply: () => fileRead(Buffer.from("abc"), true) }
    ])
    return Effect.gen(function*() {
      const gf = yield* GuestFiles
      expect((yield* Effect.flip(gf.qmWrite(200, "/etc/motd", Buffer.from("motd"))))._tag).toBe("WriteVerificationFailed")
      expect((yield* Effect.flip(gf.qmRead(201, "/x", { offset: 0, count: 1 })))._tag).toBe("GuestAgentUnavailable")
      expect((yield* Effect.flip(gf.qmRead(202, "/x", { offset: 0, count: 1 })))._tag).toBe("GuestNotRunning")
      expect((yield* Effect.flip(gf.qmRead(200, "/x", { offset: 0, count: 1 })))._tag).toBe("FileNotFound")
      const w = yield* gf.qmRead(200, "/x", { offset: 0, count: 3 })
      expect(w.eof).toBe(false)
      expect(Buffer.from(w.content).toString()).toBe("abc")
      expect((yield* Effect.flip(gf.qmRead(200, "/x", { offset: 0, count: 16 * 1024 * 1024 + 1 })))._tag).toBe("InvalidInput")
      expect(s.queue).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  const agentError = (text: string) => ok({ exitCode: 255, stderr: `Agent error: ${text}\n` })

  it.effect("a directory read is NotARegularFile, whether the open or the read fails; other errno texts are CommandFailed", () => {
    const s = scripted([
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("pvesh", "get", "/nodes/pve/qemu/200/agent/file-read", "--file", "/tmp"), reply: () => agentError("failed to read file: Is a directory") },
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("pvesh", "get"), reply: () => agentError("failed to open file '/tmp' (mode: 'r'): Is a directory") },
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("pvesh", "get"), reply: () => agentError("failed to open file '/root/x: No such file or directory' (mode: 'r'): Permission denied") },
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("pvesh", "get"), reply: () => agentError("failed to open file '/etc/missing' (mode: 'r'): No such file or directory") }
    ])
    return Effect.gen(function*() {
      const gf = yield* GuestFiles
      const read = (path: string) => Effect.flip(gf.qmRead(200, path, { offset: 0, count: 10 }))
      expect(yield* read("/tmp")).toMatchObject({ _tag: "NotARegularFile", path: "/tmp", fileType: "directory" })
      expect(yield* read("/tmp")).toMatchObject({ _tag: "NotARegularFile", path: "/tmp", fileType: "directory" })
      const denied = yield* read("/root/x: No such file or directory")
      expect(denied).toBeInstanceOf(CommandFailed)
      expect(denied).toMatchObject({ exitCode: 255, stderr: "Agent error: failed to open file '/root/x: No such file or directory' (mode: 'r'): Permission denied" })
      expect(yield* read("/etc/missing")).toMatchObject({ _tag: "FileNotFound", path: "/etc/missing" })
      expect(s.queue).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a write whose directory is missing is ParentDirectoryMissing, onto a directory NotARegularFile, without a read-back", () => {
    const s = scripted([
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("sh", "-c", GuestFilesLive.QM_FILE_WRITE_SCRIPT, "sh", "/nodes/pve/qemu/200/agent/file-write", "/nodir/x"), reply: () => agentError("failed to open file '/nodir/x' (mode: 'wb'): No such file or directory") },
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("sh", "-c", GuestFilesLive.QM_FILE_WRITE_SCRIPT, "sh", "/nodes/pve/qemu/200/agent/file-write", "/tmp/d"), reply: () => agentError("failed to open file '/tmp/d' (mode: 'wb'): Is a directory") },
      { match: is("qm", "agent", "200", "ping"), reply: () => ok() },
      { match: is("sh", "-c", GuestFilesLive.QM_FILE_WRITE_SCRIPT), reply: () => agentError("failed to open file '/etc/f/x' (mode: 'wb'): Not a directory") },
      { match: is("qm", "agent", "201", "ping"), reply: () => ok() },
      { match: is("sh", "-c", GuestFilesLive.QM_FILE_WRITE_SCRIPT), reply: () => ok({ exitCode: 255, stderr: "QEMU guest agent is not running\n" }) }
    ])
    return Effect.gen(function*() {
      const gf = yield* GuestFiles
      const write = (vmid: number, path: string) => Effect.flip(gf.qmWrite(vmid, path, Buffer.from("x")))
      expect(yield* write(200, "/nodir/x")).toMatchObject({ _tag: "ParentDirectoryMissing", path: "/nodir/x" })
      expect(yield* write(200, "/tmp/d")).toMatchObject({ _tag: "NotARegularFile", path: "/tmp/d", fileType: "directory" })
      expect(yield* write(200, "/etc/f/x")).toMatchObject({ _tag: "CommandFailed", stderr: "Agent error: failed to open file '/etc/f/x' (mode: 'wb'): Not a directory" })
      expect((yield* write(201, "/x"))._tag).toBe("GuestAgentUnavailable")
      expect(s.queue).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })
})
