/**
 * End to end at companion: the built bin over stdio against a sandbox node with its SSH server, through
 * every companion tool of this build: exec (allowed, denied with no side effect, confirm-gated), file
 * reads and writes in a container and a VM, dryRun, backups, diff and revert (of a modified file and of
 * a created one), path traversal refused, stopped guests and missing files.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, errorOf, okOf, type BinSession } from "./support/Bin.js"
import * as SandboxScope from "./support/SandboxScope.js"

const COMPANION_TOOLS = [
  "describe_homelab", "health_check", "pct_list", "qm_list", "query_audit",
  "guest_start", "guest_stop", "guest_restart",
  "pct_exec", "pct_read_file", "pct_write_file", "qm_agent_ping", "qm_exec", "qm_read_file", "qm_write_file",
  "list_backups", "diff_config", "revert_file"
]

let sandbox: SandboxScope.Started
let s: BinSession

const sshArgv = () =>
  sandbox.handle.control
    .events()
    .filter((e) => e.kind === "ssh")
    // the server sends one shell-quoted line ('pct' 'push' …): unquoted so tests can match plain words
    .map((e) => (Array.isArray(e.argv) ? e.argv.join(" ") : String(e.argv ?? e.detail ?? "")).replace(/'/g, ""))

beforeAll(async () => {
  sandbox = await SandboxScope.start({ tier: "companion", ssh: true })
  s = await connect({ ...sandbox.handle.env("companion"), MCP_READ_MAX_BYTES: "65536" })
})

afterAll(async () => {
  await s?.close()
  await sandbox?.close()
})

describe("companion registry", () => {
  it("registers exactly the operate tools plus the companion core", async () => {
    expect((await s.client.listTools()).tools.map((t) => t.name)).toEqual(COMPANION_TOOLS)
  })
})

describe("pct_exec", () => {
  it("returns stdout, stderr and the real exit code", async () => {
    const r = okOf<{ exitCode: number; stdout: string; stderr: string; shell: string; timedOut: boolean }>(
      await s.call("pct_exec", { vmid: 100, command: "echo hello; echo oops >&2; exit 3" })
    )
    expect(r).toMatchObject({ exitCode: 3, stdout: "hello\n", stderr: "oops\n", shell: "bash", timedOut: false })
  })

  it("refuses a denied command before any node contact: the sandbox never sees it", async () => {
    const before = sshArgv().length
    const e = errorOf(await s.call("pct_exec", { vmid: 100, command: "sudo rm -rf --no-preserve-root /" }))
    expect(e.code).toBe("CommandDenied")
    expect(sshArgv().slice(before).filter((a) => a.includes("rm -rf"))).toEqual([])
    const still = okOf<{ exitCode: number }>(await s.call("pct_exec", { vmid: 100, command: "test -f /etc/hosts" }))
    expect(still.exitCode).toBe(0)
  })

  it("needs confirm:true for a confirm-class command, then runs it", async () => {
    const refused = errorOf(await s.call("pct_exec", { vmid: 100, command: "systemctl restart ssh" }))
    expect(refused.code).toBe("ConfirmationRequired")
    expect(refused.message).toMatch(/confirm:true/)
    const ran = okOf<{ confirmGated: boolean; exitCode: number | null }>(
      await s.call("pct_exec", { vmid: 100, command: "systemctl restart ssh", confirm: true })
    )
    expect(ran.confirmGated).toBe(true)
  })

  it("timeoutMs is bounded by MCP_EXEC_MAX_TIMEOUT_MS as configured, above or below the 600000 default", async () => {
    expect(errorOf(await s.call("pct_exec", { vmid: 100, command: "true", timeoutMs: 600_001 })).message).toContain("MCP_EXEC_MAX_TIMEOUT_MS (600000)")
    const raised = await connect({ ...sandbox.handle.env("companion"), MCP_EXEC_MAX_TIMEOUT_MS: "1200000" })
    try {
      expect(okOf<{ exitCode: number }>(await raised.call("pct_exec", { vmid: 100, command: "true", timeoutMs: 900_000 })).exitCode).toBe(0)
      expect(errorOf(await raised.call("pct_exec", { vmid: 100, command: "true", timeoutMs: 1_200_001 })).message).toContain("MCP_EXEC_MAX_TIMEOUT_MS (1200000)")
    } finally {
      await raised.close()
    }
  })

  it("a VM id is WrongGuestType naming qm_exec; an unknown id is GuestNotFound; a stopped CT is GuestNotRunning", async () => {
    const wrong = errorOf(await s.call("pct_exec", { vmid: 200, command: "true" }))
    expect(wrong.code).toBe("WrongGuestType")
    expect(wrong.hint).toMatch(/qm_exec/)
    expect(errorOf(await s.call("pct_exec", { vmid: 999, command: "true" }))).toMatchObject({
      code: "GuestNotFound",
      message: "Guest 999 not found on node pve."
    })
    expect(errorOf(await s.call("pct_exec", { vmid: 102, command: "true" })).code).toBe("GuestNotRunning")
  })
})

describe("container files", () => {
  it("reads a file; a missing file is FileNotFound, an empty file is content \"\"", async () => {
    const hosts = okOf<{ content: string; eof: boolean; totalBytes: number }>(await s.call("pct_read_file", { vmid: 100, path: "/etc/hosts" }))
    expect(hosts.content).toMatch(/localhost/)
    expect(hosts.eof).toBe(true)
    expect(errorOf(await s.call("pct_read_file", { vmid: 100, path: "/etc/does-not-exist" })).code).toBe("FileNotFound")
    okOf(await s.call("pct_exec", { vmid: 100, command: ": > /tmp/empty-file" }))
    expect(okOf<{ content: string; bytes: number }>(await s.call("pct_read_file", { vmid: 100, path: "/tmp/empty-file" }))).toMatchObject({ content: "", bytes: 0 })
  })

  it("refuses path traversal and denied trees", async () => {
    expect(errorOf(await s.call("pct_read_file", { vmid: 100, path: "/etc/../etc/shadow" })).code).toBe("PathRejected")
    expect(errorOf(await s.call("pct_write_file", { vmid: 100, path: "/proc/sys/kernel/x", content: "1" })).code).toBe("PathRejected")
    expect(errorOf(await s.call("pct_read_file", { vmid: 100, path: "etc/hosts" })).code).toBe("PathRejected")
  })

  it("a read follows symlinks: the resolved path is reported, and re-checked before any byte is returned", async () => {
    okOf(await s.call("pct_write_file", { vmid: 100, path: "/tmp/link-target.txt", content: "through the link\n" }))
    okOf(await s.call("pct_exec", { vmid: 100, command: "ln -sf /tmp/link-target.txt /tmp/a-link && ln -sf /dev/null /tmp/bad-link" }))
    const viaLink = okOf<{ content: string; path: string; resolvedPath: string }>(await s.call("pct_read_file", { vmid: 100, path: "/tmp/a-link" }))
    expect(viaLink).toMatchObject({ content: "through the link\n", path: "/tmp/a-link", resolvedPath: "/tmp/link-target.txt" })
    const refused = errorOf(await s.call("pct_read_file", { vmid: 100, path: "/tmp/bad-link" }))
    expect(refused.code).toBe("PathRejected")
    expect(JSON.stringify(refused)).toContain("/dev/null")
    expect(JSON.stringify(refused)).not.toMatch(/"content"/)
  })

  it("an over-size read is FileTooLarge with a hint to window it; a window reads it", async () => {
    okOf(await s.call("pct_write_file", { vmid: 100, path: "/tmp/big.txt", content: "a".repeat(100_000) }))
    const e = errorOf(await s.call("pct_read_file", { vmid: 100, path: "/tmp/big.txt" }))
    expect(e.code).toBe("FileTooLarge")
    expect(e.hint).toMatch(/offset and maxBytes/)
    const w = okOf<{ bytes: number; eof: boolean; nextOffset: number }>(
      await s.call("pct_read_file", { vmid: 100, path: "/tmp/big.txt", offset: 10, maxBytes: 1000 })
    )
    expect(w).toMatchObject({ bytes: 1000, eof: false, nextOffset: 1010 })
  })

  it("dryRun returns the diff and changes nothing", async () => {
    const before = okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path: "/etc/hosts" })).content
    const dry = okOf<{ dryRun: boolean; diff: string; newFile: boolean; wouldBeRevertible: boolean }>(
      await s.call("pct_write_file", { vmid: 100, path: "/etc/hosts", content: `${before}10.0.0.9 dry\n`, dryRun: true })
    )
    expect(dry).toMatchObject({ dryRun: true, newFile: false, wouldBeRevertible: true })
    expect(dry.diff).toMatch(/^\+10\.0\.0\.9 dry$/m)
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path: "/etc/hosts" })).content).toBe(before)
    const list = okOf<{ total: number }>(await s.call("list_backups", { vmid: 100, path: "/etc/hosts" }))
    expect(list.total).toBe(0)
  })

  it("writes a modified file with a backup, keeps mode, and reverts it to the exact bytes", async () => {
    const original = okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path: "/etc/hosts" })).content
    const modeBefore = okOf<{ stdout: string }>(await s.call("pct_exec", { vmid: 100, command: "stat -c %a /etc/hosts" })).stdout
    const w = okOf<{ versionId: string; revertible: boolean; verified: boolean; diff: string; newFile: boolean }>(
      await s.call("pct_write_file", { vmid: 100, path: "/etc/hosts", content: `${original}10.0.0.5 added\n` })
    )
    expect(w).toMatchObject({ revertible: true, verified: true, newFile: false })
    expect(okOf<{ stdout: string }>(await s.call("pct_exec", { vmid: 100, command: "cat /etc/hosts" })).stdout).toBe(`${original}10.0.0.5 added\n`)
    expect(okOf<{ stdout: string }>(await s.call("pct_exec", { vmid: 100, command: "stat -c %a /etc/hosts" })).stdout).toBe(modeBefore)
    const list = okOf<{ total: number; versions: Array<{ versionId: string; revertible: boolean }> }>(
      await s.call("list_backups", { vmid: 100, path: "/etc/hosts" })
    )
    expect(list.versions[0]).toMatchObject({ versionId: w.versionId, revertible: true })
    const preview = okOf<{ diff: string; revertible: boolean }>(await s.call("diff_config", { vmid: 100, path: "/etc/hosts" }))
    expect(preview.revertible).toBe(true)
    expect(preview.diff).toMatch(/^-10\.0\.0\.5 added$/m)
    const r = okOf<{ action: string; verified: boolean; newVersionId: string }>(await s.call("revert_file", { vmid: 100, path: "/etc/hosts" }))
    expect(r).toMatchObject({ action: "restored", verified: true })
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path: "/etc/hosts" })).content).toBe(original)
    // both operations' audit records name the file they touched
    for (const tool of ["pct_write_file", "revert_file"]) {
      const records = okOf<{ items: Array<Record<string, unknown>> }>(
        await s.call("query_audit", { view: "records", tool, pathContains: "/etc/hosts", limit: 200 })
      ).items
      expect(records.map((r) => r["phase"])).toEqual(expect.arrayContaining(["intent", "outcome"]))
      for (const record of records) expect(record).toMatchObject({ target: "pct:100:/etc/hosts", guestType: "lxc", path: "/etc/hosts", vmid: 100 })
    }
  })

  it("a path with a backslash, quotes, $, a backtick and spaces is written, verified, listed and reverted", async () => {
    // GNU sha256sum escapes such a name and starts its line with a backslash: the previous build failed the
    // verification of a write it had made (WriteVerificationFailed, "\\<hash>")
    const path = "/root/it's a \\ $HOME `id` (1) ü.conf"
    expect(okOf<{ newFile: boolean; verified: boolean }>(await s.call("pct_write_file", { vmid: 100, path, content: "one\n" }))).toMatchObject({ newFile: true, verified: true })
    expect(okOf<{ verified: boolean }>(await s.call("pct_write_file", { vmid: 100, path, content: "two\n" })).verified).toBe(true)
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("two\n")
    expect(okOf<{ total: number }>(await s.call("list_backups", { vmid: 100, path })).total).toBe(2)
    expect(okOf<{ action: string; verified: boolean }>(await s.call("revert_file", { vmid: 100, path }))).toMatchObject({ action: "restored", verified: true })
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("one\n")
    expect(okOf<{ stdout: string }>(await s.call("pct_exec", { vmid: 100, command: "ls /root" })).stdout).toContain("it's a \\ $HOME `id` (1) ü.conf")
  })

  it("concurrent writes to one file each back up what the write before it left, so reverting them in turn gets back the first content", async () => {
    // the previous build trusted a state read made while another write was between its backup and its
    // rename: two writes then backed up the same content and one write's content could not be restored
    type Written = { prevSha256: string; newSha256: string; versionId: string }
    // three writers: three reverts stay within the rollback breaker's default limit per file
    for (let round = 0; round < 10; round++) {
      const path = `/root/concurrent-${round}.txt`
      okOf(await s.call("pct_write_file", { vmid: 100, path, content: "first\n" }))
      const first = okOf<{ newSha256: string }>(await s.call("pct_write_file", { vmid: 100, path, content: "first\n" })).newSha256
      const writes = (await Promise.all(
        Array.from({ length: 3 }, (_, i) => s.call("pct_write_file", { vmid: 100, path, content: `writer ${i}\n`.repeat(100 + i) }))
      )).map((r) => okOf<Written>(r))
      // the writes form one chain from the first content: each one's previous is the one before it
      const chain: Array<Written> = []
      let at = first
      for (let k = 0; k < writes.length; k++) {
        const next = writes.find((w) => w.prevSha256 === at && !chain.includes(w))
        expect(next, `round ${round}: no write backed up ${at.slice(0, 12)} (previous of ${writes.map((w) => w.prevSha256.slice(0, 12)).join(", ")})`).toBeDefined()
        chain.push(next!)
        at = next!.newSha256
      }
      for (const w of chain.reverse()) {
        expect(okOf<{ action: string }>(await s.call("revert_file", { vmid: 100, path, versionId: w.versionId })).action).toBe("restored")
      }
      expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("first\n")
    }
  })

  it("a revert whose write fails keeps no version for it (one whose outcome is unknown keeps it, uncertain)", async () => {
    // the previous build kept the failed revert's version, so the file then looked changed out of band
    const path = "/root/revert-fails.txt"
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: "one\n" }))
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: "two\n" }))
    const versions = async () =>
      okOf<{ total: number; versions: Array<{ tool: string; uncertain: boolean }> }>(await s.call("list_backups", { vmid: 100, path }))
    const faults = [
      { id: "push-fails", effect: { _tag: "exit" as const, code: 1, stderr: "failed to write file: No space left on device\n" }, code: /^CommandFailed$/, kept: false },
      { id: "push-drops", effect: { _tag: "drop" as const, phase: "body" as const }, code: /^Ssh/, kept: true }
    ]
    for (const fault of faults) {
      sandbox.handle.control.addFault({ id: fault.id, target: { kind: "ssh", argv: "pct.*push" }, when: { _tag: "always" }, effect: fault.effect })
      try {
        expect(errorOf(await s.call("revert_file", { vmid: 100, path })).code).toMatch(fault.code)
      } finally {
        sandbox.handle.control.removeFault(fault.id)
      }
      const after = await versions()
      expect(after.versions.filter((v) => v.tool === "revert_file")).toEqual(fault.kept ? [expect.objectContaining({ uncertain: true })] : [])
      expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("two\n")
    }
  })

  it("a revert whose backup of the current file could not be restored asks for confirmation, as a write does", async () => {
    // the previous build kept only the hash of what it overwrote, without asking, and audited it revertible
    const path = "/root/revert-overwrites-large.txt"
    const metaOnly = await connect({ ...sandbox.handle.env("companion"), MCP_LARGE_FILE_BYTES: "1000", MCP_LARGE_FILE_POLICY: "metadata-only" })
    try {
      okOf(await metaOnly.call("pct_write_file", { vmid: 100, path, content: "small\n" }))
      okOf(await metaOnly.call("pct_write_file", { vmid: 100, path, content: "x".repeat(2039) + "\n" }))
      const refused = errorOf(await metaOnly.call("revert_file", { vmid: 100, path }))
      expect(refused.code).toBe("ConfirmationRequired")
      expect(refused.message).toContain("MCP_LARGE_FILE_POLICY is metadata-only")
      expect(okOf<{ total: number }>(await metaOnly.call("list_backups", { vmid: 100, path })).total).toBe(2)
      const r = okOf<{ action: string; opId: string }>(await metaOnly.call("revert_file", { vmid: 100, path, confirm: true }))
      expect(r.action).toBe("restored")
      expect(okOf<{ content: string }>(await metaOnly.call("pct_read_file", { vmid: 100, path })).content).toBe("small\n")
      const records = okOf<{ items: Array<Record<string, unknown>> }>(
        await metaOnly.call("query_audit", { view: "records", tool: "revert_file", pathContains: path, limit: 10 })
      ).items
      expect(records.map((x) => x["phase"]).sort()).toEqual(["intent", "outcome", "refused"])
      expect(records.find((x) => x["phase"] === "intent")).toMatchObject({ isRevertible: false, confirmGated: true, confirmVia: "flag" })
    } finally {
      await metaOnly.close()
    }
  })

  it("revert_file's dryRun answers diff_config's shape plus action, with the same values", async () => {
    const path = "/root/preview-shape.txt"
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: "one\n" }))
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: "two\n" }))
    const preview = okOf<Record<string, unknown>>(await s.call("diff_config", { vmid: 100, path }))
    const dry = okOf<Record<string, unknown>>(await s.call("revert_file", { vmid: 100, path, dryRun: true }))
    for (const key of Object.keys(preview)) expect([key, dry[key]]).toEqual([key, preview[key]])
    expect(dry).toMatchObject({ dryRun: true, action: "restored", revertible: true })
    // a revert it would refuse is previewed as not revertible, with the reason
    okOf(await s.call("pct_exec", { vmid: 100, command: `echo edited-by-hand > ${path}` }))
    expect(okOf(await s.call("revert_file", { vmid: 100, path, dryRun: true }))).toMatchObject({
      revertible: false,
      revertReason: expect.stringContaining("discardOutOfBandChanges")
    })
  })

  it("a node whose sshd offers no SFTP subsystem is named as such, not as a bad MCP_NODE_TEMP_DIR", async () => {
    const fresh = await connect({ ...sandbox.handle.env("companion") })
    sandbox.handle.control.setFlags({ sftp: "off" })
    try {
      const e = errorOf(await fresh.call("pct_write_file", { vmid: 100, path: "/root/no-sftp.txt", content: "x\n" }))
      expect(e.message).toContain("SFTP subsystem")
      expect(e.message).not.toContain("MCP_NODE_TEMP_DIR")
    } finally {
      sandbox.handle.control.setFlags({ sftp: "offered" })
      await fresh.close()
    }
  })

  it("a file whose mode has leading zeros (0000, 0044) is written and keeps its mode", async () => {
    // the previous build refused it: stat prints mode 000 as "0", which the mode check took for bad input
    for (const mode of ["000", "044"]) {
      const path = `/root/mode-${mode}.txt`
      okOf(await s.call("pct_exec", { vmid: 100, command: `echo old > ${path} && chmod ${mode} ${path}` }))
      expect(okOf<{ verified: boolean; mode: string }>(await s.call("pct_write_file", { vmid: 100, path, content: "new\n" }))).toMatchObject({ verified: true, mode: mode })
      expect(okOf<{ stdout: string }>(await s.call("pct_exec", { vmid: 100, command: `stat -c %a ${path}; cat ${path}` })).stdout).toBe(`${Number(mode)}\nnew\n`)
    }
  })

  it("reverting a created file deletes it (not an empty file)", async () => {
    const w = okOf<{ newFile: boolean; isLargeChange: boolean; largeChangeReasons: Array<string> }>(
      await s.call("pct_write_file", { vmid: 100, path: "/root/notes.txt", content: "hello\n" })
    )
    expect(w).toMatchObject({ newFile: true, isLargeChange: true })
    expect(w.largeChangeReasons).toContain("new-file")
    const r = okOf<{ action: string }>(await s.call("revert_file", { vmid: 100, path: "/root/notes.txt" }))
    expect(r.action).toBe("deleted")
    expect(errorOf(await s.call("pct_read_file", { vmid: 100, path: "/root/notes.txt" })).code).toBe("FileNotFound")
  })

  it("an out-of-band edit makes the delta version non-revertible, honestly", async () => {
    const path = "/etc/motd-test"
    const body = Array.from({ length: 400 }, (_, i) => `line ${i} ${((i * 2654435761) % 4294967296).toString(36)}`).join("\n") + "\n"
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: body }))
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: body.replace("line 7", "line seven") }))
    okOf(await s.call("pct_exec", { vmid: 100, command: `sed -i 's/line 3/line three/' ${path}` }))
    const list = okOf<{ versions: Array<{ versionId: string; revertible: boolean; revertReason?: string; kind: string }> }>(
      await s.call("list_backups", { vmid: 100, path })
    )
    expect(list.versions[0]).toMatchObject({ kind: "rdiff", revertible: false })
    expect(list.versions[0]!.revertReason).toMatch(/changed outside this server/)
    const preview = okOf<{ revertible: boolean; revertReason: string }>(await s.call("diff_config", { vmid: 100, path }))
    expect(preview.revertible).toBe(true)
    const stale = okOf<{ revertible: boolean; revertReason: string }>(
      await s.call("diff_config", { vmid: 100, path, versionId: list.versions[0]!.versionId })
    )
    expect(stale).toMatchObject({ revertible: false })
    expect(stale.revertReason).toMatch(/changed outside this server/)
    const refused = errorOf(await s.call("revert_file", { vmid: 100, path }))
    expect(refused.code).toBe("NotRevertible")
    expect(refused.message).toMatch(/changed outside this server/)
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toMatch(/line three/)
    const next = okOf<{ versionId: string; kind: string }>(await s.call("pct_write_file", { vmid: 100, path, content: body }))
    const after = okOf<{ versions: Array<{ versionId: string; kind: string }> }>(await s.call("list_backups", { vmid: 100, path }))
    expect(after.versions[0]).toMatchObject({ versionId: next.versionId, kind: "full" })
  })

  it("binary files round-trip byte for byte through write, backup and revert", async () => {
    const path = "/root/blob.bin"
    const first = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37 + 11) % 256))
    const second = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 91 + 3) % 256))
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: first.toString("base64"), encoding: "base64" }))
    const w = okOf<{ binary: boolean; diff: string | null }>(
      await s.call("pct_write_file", { vmid: 100, path, content: second.toString("base64"), encoding: "base64" })
    )
    expect(w).toMatchObject({ binary: true, diff: null })
    expect(errorOf(await s.call("pct_read_file", { vmid: 100, path })).code).toBe("BinaryContent")
    okOf(await s.call("revert_file", { vmid: 100, path }))
    const back = okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path, encoding: "base64" }))
    expect(Buffer.from(back.content, "base64").equals(first)).toBe(true)
  })

  it("a file that starts with a byte order mark reads as text with it, and writing that text back changes nothing", async () => {
    const path = "/root/bom.conf"
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("key = value\n")])
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: bytes.toString("base64"), encoding: "base64" }))
    const read = okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path }))
    expect(read.content).toBe("\uFEFFkey = value\n")
    expect(okOf<{ unchanged: boolean }>(await s.call("pct_write_file", { vmid: 100, path, content: read.content }))).toMatchObject({ unchanged: true })
    // dropping the mark is a change the diff shows
    const dry = okOf<{ diff: string; addedLines: number; removedLines: number }>(
      await s.call("pct_write_file", { vmid: 100, path, content: "key = value\n", dryRun: true })
    )
    expect(dry).toMatchObject({ addedLines: 1, removedLines: 1 })
    expect(dry.diff).toContain("-\uFEFFkey = value")
  })

  it("on a running container the node's answer is enough; the API is asked only to explain a failure", async () => {
    const apiCalls = (from: number) => sandbox.handle.control.events().slice(from).filter((e) => e.kind === "api")
    const start = sandbox.handle.control.events().length
    const path = "/root/no-api-needed.txt"
    expect(okOf<{ newFile: boolean }>(await s.call("pct_write_file", { vmid: 100, path, content: "one\n" })).newFile).toBe(true)
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("one\n")
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path, offset: 1, maxBytes: 2 })).content).toBe("ne")
    expect(apiCalls(start)).toEqual([])
    // every way in still names the guest's state when the node refuses
    for (const call of [
      () => s.call("pct_read_file", { vmid: 102, path: "/etc/hosts" }),
      () => s.call("pct_read_file", { vmid: 102, path: "/etc/hosts", offset: 1, maxBytes: 2 }),
      () => s.call("pct_write_file", { vmid: 102, path: "/etc/hosts", content: "x", dryRun: true })
    ]) {
      const before = sandbox.handle.control.events().length
      expect(errorOf(await call())).toMatchObject({ code: "GuestNotRunning" })
      expect(apiCalls(before).length).toBeGreaterThan(0)
    }
    expect(errorOf(await s.call("pct_read_file", { vmid: 200, path: "/etc/hosts" })).code).toBe("WrongGuestType")
    expect(errorOf(await s.call("pct_read_file", { vmid: 999, path: "/etc/hosts", offset: 1 })).code).toBe("GuestNotFound")
  })

  it("a path refused to a write tool or revert_file is one refused record; dry runs and reads are not audited", async () => {
    const refusedOf = async (tool: string, pathContains: string) =>
      okOf<{ items: Array<Record<string, unknown>> }>(await s.call("query_audit", { view: "records", tool, pathContains, limit: 50 })).items
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["pct_write_file", { vmid: 100, path: "/proc/refused-a", content: "x" }, "/proc/refused-a"],
      ["pct_write_file", { vmid: 100, path: "/root/../etc/refused-b", content: "x" }, "/root/../etc/refused-b"],
      ["qm_write_file", { vmid: 200, path: "/sys/refused-c", content: "x" }, "/sys/refused-c"],
      ["revert_file", { vmid: 100, path: "/dev/refused-d" }, "/dev/refused-d"]
    ]
    for (const [tool, args, path] of cases) {
      expect(errorOf(await s.call(tool, args)).code).toBe("PathRejected")
      const records = await refusedOf(tool, path)
      expect(records).toHaveLength(1)
      expect(records[0]).toMatchObject({ phase: "refused", tool, path, vmid: args["vmid"], refusal: { code: "PathRejected" } })
      expect(String((records[0]!["refusal"] as { reason: string }).reason)).toContain(path)
    }
    // a link inside the container to a denied tree: refused after resolving, the resolved path recorded
    okOf(await s.call("pct_exec", { vmid: 100, command: "ln -sfn /proc /root/proc-link" }))
    expect(errorOf(await s.call("pct_write_file", { vmid: 100, path: "/root/proc-link/x", content: "x" })).code).toBe("PathRejected")
    expect(await refusedOf("pct_write_file", "/root/proc-link/x")).toEqual([
      expect.objectContaining({ phase: "refused", target: "pct:100:/root/proc-link/x", guestType: "lxc", resolvedPath: "/proc/x" })
    ])
    // a host target below root is a tier refusal of revert_file
    expect(errorOf(await s.call("revert_file", { path: "/etc/refused-e" })).code).toBe("TierRequired")
    expect(await refusedOf("revert_file", "/etc/refused-e")).toEqual([
      expect.objectContaining({ phase: "refused", target: "host:/etc/refused-e", refusal: expect.objectContaining({ code: "TierRequired" }) })
    ])
    expect(errorOf(await s.call("pct_write_file", { vmid: 100, path: "/proc/refused-f", content: "x", dryRun: true })).code).toBe("PathRejected")
    expect(errorOf(await s.call("pct_read_file", { vmid: 100, path: "/proc/refused-g" })).code).toBe("PathRejected")
    expect(await refusedOf("pct_write_file", "/proc/refused-f")).toEqual([])
    expect(await refusedOf("pct_read_file", "/proc/refused-g")).toEqual([])
  })

  it("a stopped container is refused and nothing is pushed", async () => {
    const before = sshArgv().length
    expect(errorOf(await s.call("pct_write_file", { vmid: 102, path: "/etc/hosts", content: "x" })).code).toBe("GuestNotRunning")
    expect(sshArgv().slice(before).filter((a) => a.includes("pct push"))).toEqual([])
  })

  it("the upload made ahead of a write leaves no node temp file, whatever the outcome", async () => {
    const nodeTemps = async () =>
      (await sandbox.handle.lab.machines!.get("host")!.exec("ls -a /tmp")).stdout.split("\n").filter((f) => f.startsWith("mcp."))
    const path = "/root/staged-upload.txt"
    const pushed = () => sshArgv().filter((a) => a.includes("pct push")).length
    const before = pushed()
    expect(okOf<{ newFile: boolean }>(await s.call("pct_write_file", { vmid: 100, path, content: "one\n" })).newFile).toBe(true)
    expect(okOf<{ unchanged: boolean }>(await s.call("pct_write_file", { vmid: 100, path, content: "one\n" })).unchanged).toBe(true)
    // when the node refuses, the API's guest checks decide the error
    expect(errorOf(await s.call("pct_write_file", { vmid: 102, path, content: "x" })).code).toBe("GuestNotRunning")
    expect(errorOf(await s.call("pct_write_file", { vmid: 200, path, content: "x" })).code).toBe("WrongGuestType")
    expect(errorOf(await s.call("pct_write_file", { vmid: 999, path, content: "x" })).code).toBe("GuestNotFound")
    expect(errorOf(await s.call("pct_write_file", { vmid: 100, path: "/root/../etc/shadow", content: "x" })).code).toBe("PathRejected")
    expect(errorOf(await s.call("pct_write_file", { vmid: 100, path: "/no/such/dir/f", content: "x" })).code).toBe("ParentDirectoryMissing")
    // only the first call wrote; every upload made ahead was removed
    expect(pushed() - before).toBe(1)
    expect(await nodeTemps()).toEqual([])
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("one\n")
  })

  it("host targets (no vmid) need root for diff and revert; listing them reads only the store", async () => {
    const d = errorOf(await s.call("diff_config", { path: "/etc/hosts" }))
    expect(d).toMatchObject({ code: "TierRequired" })
    expect(d.hint).toMatch(/MCP_HOST_ROOT_ENABLED/)
    expect(errorOf(await s.call("revert_file", { path: "/etc/hosts" })).code).toBe("TierRequired")
    expect(okOf(await s.call("list_backups", { path: "/etc/hosts" }))).toMatchObject({ target: "host:/etc/hosts", currentVerified: false, total: 0 })
  })

  it("bad base64 is InvalidInput naming content", async () => {
    const e = errorOf(await s.call("pct_write_file", { vmid: 100, path: "/tmp/x", content: "%%%", encoding: "base64" }))
    expect(e).toMatchObject({ code: "InvalidInput" })
    expect(e.message).toMatch(/base64/)
  })
})

describe("VM tools", () => {
  it("qm_agent_ping finds VM 200's agent", async () => {
    expect(okOf(await s.call("qm_agent_ping", { vmid: 200 }))).toMatchObject({ vmid: 200, available: true, agentConfigured: true })
  })

  it("qm_exec returns the agent's exit code and output", async () => {
    const r = okOf<{ exitCode: number; stdout: string }>(await s.call("qm_exec", { vmid: 200, command: "echo vm; exit 4" }))
    expect(r).toMatchObject({ exitCode: 4, stdout: "vm\n" })
  })

  it("qm_write_file writes through the agent and reverts; over 46080 bytes is refused first", async () => {
    const w = okOf<{ newFile: boolean; verified: boolean }>(await s.call("qm_write_file", { vmid: 200, path: "/root/vm-notes.txt", content: "one\n" }))
    expect(w).toMatchObject({ newFile: true, verified: true })
    okOf(await s.call("qm_write_file", { vmid: 200, path: "/root/vm-notes.txt", content: "two\n" }))
    expect(okOf<{ content: string }>(await s.call("qm_read_file", { vmid: 200, path: "/root/vm-notes.txt" })).content).toBe("two\n")
    okOf(await s.call("revert_file", { vmid: 200, path: "/root/vm-notes.txt" }))
    expect(okOf<{ content: string }>(await s.call("qm_read_file", { vmid: 200, path: "/root/vm-notes.txt" })).content).toBe("one\n")
    const before = sshArgv().length
    const big = errorOf(await s.call("qm_write_file", { vmid: 200, path: "/root/big", content: "x".repeat(46081) }))
    expect(big.code).toBe("ContentTooLarge")
    expect(big.hint).toMatch(/qm_exec/)
    expect(sshArgv().length).toBe(before)
  })

  it("VM file tools name a directory and a missing parent as the pct tools do", async () => {
    // the previous build said a directory "does not exist", and a write into a missing directory or onto
    // a directory was CommandFailed (pointing at doctor) after its backup and intent
    expect(errorOf(await s.call("qm_read_file", { vmid: 200, path: "/tmp" })).code).toBe("NotARegularFile")
    expect(errorOf(await s.call("qm_write_file", { vmid: 200, path: "/no/such/dir/f", content: "x" })).code).toBe("ParentDirectoryMissing")
    okOf(await s.call("qm_exec", { vmid: 200, command: "mkdir -p /tmp/a-dir" }))
    expect(errorOf(await s.call("qm_write_file", { vmid: 200, path: "/tmp/a-dir", content: "x", dryRun: true })).code).toBe("NotARegularFile")
    expect(errorOf(await s.call("qm_write_file", { vmid: 200, path: "/tmp/a-dir", content: "x" })).code).toBe("NotARegularFile")
  })

  it("a VM file over what the agent can write back is listed and previewed as not revertible, and its revert is refused", async () => {
    // the previous build listed it revertible:true, then the revert stored a backup and failed half way
    const path = "/root/vm-big.txt"
    okOf(await s.call("qm_exec", { vmid: 200, command: `printf '%050000d' 0 > ${path}` }))
    expect(errorOf(await s.call("qm_write_file", { vmid: 200, path, content: "small\n" })).code).toBe("ConfirmationRequired")
    okOf(await s.call("qm_write_file", { vmid: 200, path, content: "small\n", confirm: true }))
    const list = okOf<{ total: number; versions: Array<{ revertible: boolean; revertReason?: string }> }>(await s.call("list_backups", { vmid: 200, path }))
    expect(list.versions[0]).toMatchObject({ revertible: false, revertReason: expect.stringContaining("50000 bytes, more than the 46080") })
    expect(okOf<{ revertible: boolean }>(await s.call("diff_config", { vmid: 200, path })).revertible).toBe(false)
    const refused = errorOf(await s.call("revert_file", { vmid: 200, path }))
    expect(refused).toMatchObject({ code: "NotRevertible" })
    expect(refused.message).toContain("46080")
    expect(okOf<{ total: number }>(await s.call("list_backups", { vmid: 200, path })).total).toBe(list.total)
    expect(okOf<{ content: string }>(await s.call("qm_read_file", { vmid: 200, path })).content).toBe("small\n")
  })

  it("diff_config of a stopped guest's file is the guest's error, not an absent file; its diff follows MCP_DIFF_MAX_LINES", async () => {
    const path = "/root/preview-lines.txt"
    const lines = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} ${i}\n`).join("")
    const short = await connect({ ...sandbox.handle.env("companion"), MCP_DIFF_MAX_LINES: "6" })
    try {
      okOf(await short.call("pct_write_file", { vmid: 100, path, content: lines("a") }))
      okOf(await short.call("pct_write_file", { vmid: 100, path, content: lines("b") }))
      const preview = okOf<{ diff: string; diffTruncated: boolean }>(await short.call("diff_config", { vmid: 100, path }))
      expect(preview.diffTruncated).toBe(true)
      expect(preview.diff.trimEnd().split("\n")).toHaveLength(7)
      expect(okOf<{ diff: string }>(await short.call("diff_config", { vmid: 100, path, maxLines: 20 })).diff.trimEnd().split("\n")).toHaveLength(21)
      okOf(await short.call("guest_stop", { vmid: 100, confirm: true }))
      try {
        expect(errorOf(await short.call("diff_config", { vmid: 100, path }))).toMatchObject({ code: "GuestNotRunning" })
        // listing still answers, saying the live file could not be checked
        expect(okOf<{ currentExists: null; currentVerified: boolean }>(await short.call("list_backups", { vmid: 100, path }))).toMatchObject({
          currentExists: null,
          currentVerified: false
        })
      } finally {
        okOf(await short.call("guest_start", { vmid: 100 }))
      }
    } finally {
      await short.close()
    }
  })

  it("a VM whose agent stopped answering: ping says so, exec and file tools fail with GuestAgentUnavailable", async () => {
    sandbox.handle.control.addFault({ id: "agent-down", target: { kind: "agent", vmid: 200 }, when: { _tag: "always" }, effect: { _tag: "agentDown" } })
    try {
      const ping = okOf<{ available: boolean; reason: string }>(await s.call("qm_agent_ping", { vmid: 200 }))
      expect(ping.available).toBe(false)
      expect(ping.reason).toMatch(/agent/i)
      const e = errorOf(await s.call("qm_exec", { vmid: 200, command: "true" }))
      expect(e.code).toBe("GuestAgentUnavailable")
      expect(e.hint).toMatch(/qemu-guest-agent/)
      expect(errorOf(await s.call("qm_read_file", { vmid: 200, path: "/etc/hostname" })).code).toBe("GuestAgentUnavailable")
    } finally {
      sandbox.handle.control.removeFault("agent-down")
    }
  })

  it("qm_exec refuses a Windows VM by its ostype, audited, before any SSH or agent call; other ostypes run", async () => {
    // the previous build never read the ostype and ran the command through the agent
    const config = sandbox.handle.lab.guests.get(200)!.config
    const saved = config["ostype"]
    const command = "echo windows-ostype-probe"
    try {
      for (const ostype of ["win11", "w2k8", "wxp"]) {
        config["ostype"] = ostype
        const before = sshArgv().length
        const e = errorOf(await s.call("qm_exec", { vmid: 200, command }))
        expect(e).toMatchObject({ code: "UnsupportedGuestOs" })
        expect(e.message).toContain(ostype)
        expect(sshArgv().slice(before)).toEqual([])
      }
      const records = okOf<{ items: Array<Record<string, unknown>> }>(
        await s.call("query_audit", { view: "records", tool: "qm_exec", textSearch: "windows-ostype-probe", limit: 50 })
      ).items
      expect(records).toHaveLength(3)
      for (const r of records) expect(r).toMatchObject({ phase: "refused", vmid: 200, guestType: "qemu", refusal: { code: "UnsupportedGuestOs" } })
      // the spec lists UnsupportedGuestOs for qm_exec only: the agent file tools still read
      expect(okOf<{ eof: boolean }>(await s.call("qm_read_file", { vmid: 200, path: "/etc/hostname" })).eof).toBe(true)
      for (const ostype of ["l26", "other", undefined]) {
        if (ostype === undefined) delete config["ostype"]
        else config["ostype"] = ostype
        expect(okOf<{ exitCode: number; stdout: string }>(await s.call("qm_exec", { vmid: 200, command }))).toMatchObject({ exitCode: 0, stdout: "windows-ostype-probe\n" })
      }
    } finally {
      if (saved === undefined) delete config["ostype"]
      else config["ostype"] = saved
    }
  })

  it("qm_read_file past the end of a file: eof with totalBytes null, never the offset; at the exact end the size", async () => {
    // the previous build answered totalBytes = offset (100 for a 12-byte file)
    const path = "/root/twelve-bytes.txt"
    okOf(await s.call("qm_exec", { vmid: 200, command: `printf 'hello world\\n' > ${path}` }))
    const past = okOf<{ content: string; bytes: number; totalBytes: number | null; eof: boolean; nextOffset: number | null }>(
      await s.call("qm_read_file", { vmid: 200, path, offset: 100 })
    )
    expect(past).toMatchObject({ content: "", bytes: 0, totalBytes: null, eof: true, nextOffset: null })
    // one byte past the end is past it too; exactly at the end, the size is known (no extra agent call)
    expect(okOf<{ totalBytes: number | null }>(await s.call("qm_read_file", { vmid: 200, path, offset: 13 })).totalBytes).toBeNull()
    expect(okOf(await s.call("qm_read_file", { vmid: 200, path, offset: 12, maxBytes: 4 }))).toMatchObject({ content: "", bytes: 0, totalBytes: 12, eof: true })
    // a window inside the file still reads exactly its bytes
    expect(okOf(await s.call("qm_read_file", { vmid: 200, path, offset: 6, maxBytes: 5 }))).toMatchObject({ content: "world", bytes: 5, eof: false, nextOffset: 11 })
    expect(okOf(await s.call("qm_read_file", { vmid: 200, path, offset: 6 }))).toMatchObject({ content: "world\n", totalBytes: 12, eof: true })
    expect(okOf(await s.call("qm_read_file", { vmid: 200, path }))).toMatchObject({ content: "hello world\n", totalBytes: 12, eof: true })
  })

  it("qm_read_file works with MCP_READ_MAX_BYTES above the agent's 16 MiB per call", async () => {
    // the previous build asked the agent for the whole limit in one call: InvalidInput on every read
    const wide = await connect({ ...sandbox.handle.env("companion"), MCP_READ_MAX_BYTES: "20000000" })
    try {
      const hostname = okOf<{ content: string; eof: boolean }>(await wide.call("qm_read_file", { vmid: 200, path: "/etc/hostname" }))
      expect(hostname.eof).toBe(true)
      expect(hostname.content.length).toBeGreaterThan(0)
      expect(okOf<{ eof: boolean }>(await wide.call("qm_read_file", { vmid: 200, path: "/etc/hostname", offset: 1, maxBytes: 20_000_000 })).eof).toBe(true)
    } finally {
      await wide.close()
    }
  })

  it("a container id given to a VM tool names the pct tools", async () => {
    expect(errorOf(await s.call("qm_read_file", { vmid: 100, path: "/etc/hosts" })).code).toBe("WrongGuestType")
  })
})

describe("audit trail", () => {
  it("every write, exec and revert left intent and outcome records; the chain verifies", async () => {
    const q = okOf<{ summary: { byTool: Record<string, number>; refusals: number; pending: number }; chain: { ok: boolean } }>(
      await s.call("query_audit", { verifyChain: true, limit: 200 })
    )
    expect(q.chain.ok).toBe(true)
    expect(q.summary.byTool["pct_write_file"]).toBeGreaterThan(0)
    expect(q.summary.byTool["revert_file"]).toBeGreaterThan(0)
    expect(q.summary.refusals).toBeGreaterThan(0)
    expect(q.summary.pending).toBe(0)
  })
})
