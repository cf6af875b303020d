/**
 * Shell smoke test (sandbox.md §9): the product's exact argv over a real SSH connection, on the host
 * and inside the Debian CT 101, plus SFTP with posix-rename; the Alpine CT shows its BusyBox gaps.
 * The quoting mirrors the product's (every argv element single-quoted, transport-trust.md §3.5).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import * as Sandbox from "../src/Sandbox.js"
import { call, connected, done, exec, sftp } from "./ssh-support.js"

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const argv = (...a: ReadonlyArray<string>) => a.map(q).join(" ")
/** `timeout --signal=TERM --kill-after=5 <secs> <argv…>` as the product wraps fixed commands. */
const fixed = (secs: number, ...a: ReadonlyArray<string>) => `timeout --signal=TERM --kill-after=5 ${secs} ${argv(...a)}`
/** `execute`: `timeout … bash -c <command>`. */
const execute = (secs: number, command: string) => fixed(secs, "bash", "-c", command)
const sweep = `find "$@" -xdev -type f -print0 | xargs -0 -r sh -c 'stat --printf "M %s %a %u %g %n\\0" -- "$@"; sha256sum -z -- "$@"' sh`

const setup = Effect.gen(function* () {
  // 0.01: the layerTest scale; CPU time counts as (scaled) virtual time, so the 1 s budgets here need it
  const sb = yield* Sandbox.make({ seed: 11, timeScale: 0.01, authFailureDelay: 0 })
  yield* Effect.promise(() => (sb.lab.machines as unknown as { warm: () => Promise<void> }).warm())
  const ssh = sb.ssh!
  const conn = yield* connected({ host: ssh.host, port: ssh.port, privateKey: Redacted.value(ssh.privateKey) })
  const run = (command: string, stdin?: string) => Effect.promise(() => exec(conn.client, command, stdin === undefined ? {} : { stdin }))
  return { sb, conn, run }
})

const parseSweep = (out: string) => {
  const meta = new Map<string, { size: number; mode: string; uid: number; gid: number }>()
  const hashes = new Map<string, string>()
  for (const rec of out.split("\0").filter(Boolean)) {
    const m = /^M (\d+) (\d+) (\d+) (\d+) (.*)$/s.exec(rec)
    if (m) meta.set(m[5]!, { size: Number(m[1]), mode: m[2]!, uid: Number(m[3]), gid: Number(m[4]) })
    else {
      const h = /^([0-9a-f]{64}) {2}(.*)$/s.exec(rec)
      if (!h) throw new Error(`bad record ${JSON.stringify(rec)}`)
      hashes.set(h[2]!, h[1]!)
    }
  }
  return { meta, hashes }
}

describe("shell smoke test", () => {
  it.scopedLive("host: the product's argv, bash syntax, sweep script, df, tail, mktemp, find -printf, grep -a, bash -s", () =>
    Effect.gen(function* () {
      const { run, sb } = yield* setup
      expect(yield* run(execute(35, "echo hi; [[ -d /etc/pve ]] && echo pve-mounted"))).toMatchObject({ stdout: "hi\npve-mounted\n", code: 0 })
      expect(yield* run(`cd ${q("/etc")} && ${execute(10, "pwd")}`)).toMatchObject({ stdout: "/etc\n", code: 0 })
      const hosts = Buffer.from(yield* Effect.promise(() => sb.lab.machines!.get("host")!.fs.readFile("/etc/hosts")))
      expect(yield* run(fixed(30, "stat", "-c", "%F|%s|%a|%u|%g", "--", "/etc/hosts"))).toMatchObject({ stdout: `regular file|${hosts.length}|644|0|0\n`, code: 0 })
      expect((yield* run(fixed(30, "stat", "-c", "%F|%s|%a|%u|%g", "--", "/etc/absent"))).stderr).toBe("stat: cannot statx '/etc/absent': No such file or directory\n")
      expect((yield* run(fixed(30, "stat", "-c", "%Y", "/var/lib/apt/lists"))).stdout).toBe(`${sb.lab.aptListsUpdated}\n`)
      expect((yield* run(fixed(30, "readlink", "-f", "--", "/etc/pve/qemu-server/200.conf"))).stdout).toBe("/etc/pve/nodes/pve/qemu-server/200.conf\n")
      expect((yield* run(fixed(30, "sha256sum", "--", "/etc/hosts"))).stdout).toBe(`${createHash("sha256").update(hosts).digest("hex")}  /etc/hosts\n`)
      const sw = yield* run(fixed(300, "sh", "-c", sweep, "sh", "/etc", "/etc/pve"))
      expect(sw.code).toBe(0)
      const { meta, hashes } = parseSweep(sw.stdout)
      expect([...meta.keys()].sort()).toEqual([...hashes.keys()].sort())
      expect(meta.get("/etc/hosts")).toEqual({ size: hosts.length, mode: "644", uid: 0, gid: 0 })
      expect(meta.get("/etc/pve/user.cfg")).toMatchObject({ mode: "640", uid: 0, gid: 33 })
      expect([...meta.keys()].some((p) => p.startsWith("/etc/pve/") && p.split("/").length === 4)).toBe(true)
      const df = yield* run(fixed(10, "df", "-B1", "--output=source,fstype,target,size,used,avail"))
      expect(df.stdout.split("\n")[0]).toMatch(/^Filesystem +Type +Mounted on +1B-blocks +Used +Avail$/)
      expect(df.stdout).toMatch(/\n\/dev\/fuse +fuse +\/etc\/pve +\d+ +\d+ +\d+\n/)
      const journalTail = yield* run(fixed(30, "tail", "-n", "1", "--", "/etc/hosts"))
      expect(journalTail.stdout).toBe(`${hosts.toString().trimEnd().split("\n").pop()}\n`)
      const tmp = (yield* run(fixed(30, "mktemp", "-p", "/tmp", "mcp.XXXXXXXX"))).stdout.trim()
      expect(tmp).toMatch(/^\/tmp\/mcp\.[A-Za-z0-9]{8}$/)
      const printf = yield* run(fixed(30, "find", "/etc/pve", "-maxdepth", "1", "-printf", "%y\\t%T@\\t%p\\n"))
      expect(printf.stdout.split("\n").filter(Boolean).every((l) => /^[fdl]\t\d+\.\d{10}\t\/etc\/pve/.test(l))).toBe(true)
      expect(printf.stdout).toContain("l\t")
      const grep = yield* run(fixed(30, "grep", "-a", "-n", "-E", "-C", "1", "pve\\.home", "/etc/hosts"))
      expect(grep.stdout).toBe("1-127.0.0.1 localhost.localdomain localhost\n2:192.168.1.10 pve.home.arpa pve\n3-\n")
      expect(yield* run("bash -s", "set -e\nhostname\npveversion\n")).toMatchObject({ stdout: "pve\npve-manager/9.1.1/f4d3f125ffae50e9 (running kernel: 6.17.2-1-pve)\n", code: 0 })
      expect((yield* run(fixed(10, "systemctl", "list-units", "--failed", "--no-legend", "--plain"))).stdout).toBe("")
      expect((yield* run(fixed(10, "apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"))).stdout.split("\n").filter((l) => l.startsWith("Inst ")).length).toBe(sb.lab.aptUpdates.length)
      expect(yield* run(execute(1, "sleep 5; echo late"))).toMatchObject({ code: 124, stdout: "" })
    }))

  it.scopedLive("Debian CT: the same primitives inside pct exec, and the container write/read sequence", () =>
    Effect.gen(function* () {
      const { run, conn } = yield* setup
      const pct = (...a: ReadonlyArray<string>) => fixed(35, "pct", "exec", "101", "--", ...a)
      expect(yield* run(fixed(35, "pct", "exec", "101", "--", "timeout", "-s", "TERM", "-k", "5", "30", "bash", "-c", "echo hi; [[ 1 -eq 1 ]] && echo yes"))).toMatchObject({ stdout: "hi\nyes\n", code: 0 })
      expect((yield* run(pct("readlink", "-f", "--", "/etc/os-release"))).stdout).toBe("/usr/lib/os-release\n")
      expect((yield* run(pct("find", "--version"))).stdout.split("\n")[0]).toBe("find (GNU findutils) 4.10.0")
      const sw = yield* run(pct("sh", "-c", sweep, "sh", "/etc"))
      expect(sw.code).toBe(0)
      const { meta, hashes } = parseSweep(sw.stdout)
      expect(meta.size).toBeGreaterThan(5)
      expect([...meta.keys()].sort()).toEqual([...hashes.keys()].sort())
      const stat = yield* run(pct("stat", "-c", "%F|%s|%a|%u|%g", "--", "/etc/hosts"))
      const [type, size, mode, uid, gid] = stat.stdout.trim().split("|")
      expect(type).toBe("regular file")
      const tmp = (yield* run(fixed(30, "mktemp", "-p", "/tmp", "mcp.XXXXXXXX"))).stdout.trim()
      expect((yield* run(fixed(120, "pct", "pull", "101", "/etc/hosts", tmp))).code).toBe(0)
      const s = yield* Effect.promise(() => sftp(conn.client))
      const pulled = yield* Effect.promise(() => call<Buffer>((cb) => s.readFile(tmp, cb)))
      expect(pulled.length).toBe(Number(size))
      const next = Buffer.concat([pulled, Buffer.from("10.1.2.3 added.home.arpa\n")])
      const up = (yield* run(fixed(30, "mktemp", "-p", "/tmp", "mcp.XXXXXXXX"))).stdout.trim()
      yield* Effect.promise(() => call<void>((cb) => s.writeFile(up, next, cb)))
      expect((yield* run(fixed(120, "pct", "push", "101", up, "/etc/.hosts.mcp-1a2b", "--perms", mode!, "--user", uid!, "--group", gid!))).code).toBe(0)
      expect((yield* run(pct("mv", "-f", "--", "/etc/.hosts.mcp-1a2b", "/etc/hosts"))).code).toBe(0)
      expect((yield* run(pct("sha256sum", "--", "/etc/hosts"))).stdout).toBe(`${createHash("sha256").update(next).digest("hex")}  /etc/hosts\n`)
      expect((yield* run(fixed(10, "rm", "-f", "--", tmp, up))).code).toBe(0)
      expect((yield* run(pct("sh", "-c", "systemctl list-units --failed --no-legend --plain; command -v docker >/dev/null && docker ps --format '{{.Names}}\\t{{.Image}}\\t{{.Status}}'"))).stdout.split("\n").filter(Boolean)).toHaveLength(11)
    }))

  it.scopedLive("host SFTP write with a hidden temp sibling, setstat, fsync and posix-rename over the target", () =>
    Effect.gen(function* () {
      const { run, conn } = yield* setup
      const s = yield* Effect.promise(() => sftp(conn.client))
      const target = "/etc/network/interfaces"
      expect(yield* Effect.promise(() => call<string>((cb) => s.realpath(target, cb)))).toBe(target)
      const before = yield* Effect.promise(() => call<{ mode: number; uid: number; gid: number }>((cb) => s.stat(target, cb)))
      const tmp = "/etc/network/.interfaces.mcp-7f3e"
      const body = Buffer.from("auto lo\niface lo inet loopback\n")
      const handle = yield* Effect.promise(() => call<Buffer>((cb) => s.open(tmp, "w", { mode: 0o600 }, cb)))
      yield* Effect.promise(() => done((cb) => s.write(handle, body, 0, body.length, 0, cb)))
      yield* Effect.promise(() => done((cb) => s.fsetstat(handle, { mode: before.mode & 0o7777, uid: before.uid, gid: before.gid }, cb)))
      yield* Effect.promise(() => done((cb) => s.ext_openssh_fsync(handle, cb)))
      yield* Effect.promise(() => done((cb) => s.close(handle, cb)))
      yield* Effect.promise(() => done((cb) => s.ext_openssh_rename(tmp, target, cb)))
      expect((yield* run(fixed(30, "sha256sum", "--", target))).stdout).toBe(`${createHash("sha256").update(body).digest("hex")}  ${target}\n`)
      expect((yield* run(fixed(30, "stat", "-c", "%a|%u|%g", "--", target))).stdout).toBe(`${(before.mode & 0o7777).toString(8)}|${before.uid}|${before.gid}\n`)
      expect((yield* run(fixed(30, "ls", "-a", "/etc/network"))).stdout).not.toContain(".interfaces.mcp-7f3e")
    }))

  it.scopedLive("Alpine CT (started over SSH): BusyBox gaps the product must detect", () =>
    Effect.gen(function* () {
      const { run } = yield* setup
      expect((yield* run(fixed(30, "pct", "start", "102"))).code).toBe(0)
      const pct = (...a: ReadonlyArray<string>) => fixed(35, "pct", "exec", "102", "--", ...a)
      expect((yield* run(pct("find", "--version"))).code).toBe(1)
      expect((yield* run(pct("bash", "-c", "true"))).code).toBe(127)
      expect((yield* run(pct("timeout", "--signal=TERM", "5", "true"))).code).toBe(1)
      expect(yield* run(pct("timeout", "-s", "TERM", "5", "sh", "-c", "echo ok"))).toMatchObject({ stdout: "ok\n", code: 0 })
      expect((yield* run(pct("sh", "-c", "systemctl list-units --failed --no-legend --plain"))).code).toBe(127)
      expect((yield* run(pct("stat", "-c", "%F|%s|%a|%u|%g", "--", "/etc/hosts"))).stdout).toMatch(/^regular file\|\d+\|644\|0\|0\n$/)
      expect((yield* run(pct("stat", "-c", "%s", "--", "/etc/absent"))).stderr).toBe("stat: can't stat '/etc/absent': No such file or directory\n")
      expect((yield* run(pct("sha256sum", "-z", "--", "/etc/hosts"))).code).toBe(1)
    }))
})
