/**
 * PVE CLI goldens (sandbox.md §5.1), hand-written from the spec: column layouts, stderr texts and exit
 * codes of pct, qm, pvesh, pveversion, pvesm, pveum, vzdump, and the shared-state lines of §6 that do
 * not need a socket.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { buildLab } from "../src/lab/Lab.js"
import * as Machines from "../src/machines/Machines.js"
import * as HostKey from "../src/ssh/HostKey.js"
import type { LabState } from "../src/state/LabState.js"

const HOST_KEY = HostKey.generate("root@pve")

const setup = (options: { clock?: "manual" } = {}) => {
  const lab = buildLab({ seed: 1, timeScale: 0.01, ...options })
  const machines = Machines.make(lab, { hostPublicKey: HOST_KEY.publicKey })
  lab.setMachines(machines)
  return { lab, machines, host: machines.host() }
}

type Env = ReturnType<typeof setup>
const run = (env: Env, command: string, stdin?: string) => env.host.exec(command, stdin === undefined ? undefined : { stdin })

const pctRow = (a: string, b: string, c: string, d: string) => `${a.padEnd(10)} ${b.padEnd(10)} ${c.padEnd(12)} ${d.padEnd(20)}\n`
const qmRow = (a: string, b: string, c: string, d: string, e: string, f: string) =>
  `${a.padStart(10)} ${b.padEnd(20)} ${c.padEnd(10)} ${d.padEnd(10)} ${e.padStart(12)} ${f.padEnd(10)}\n`

const lastTask = (lab: LabState) => lab.listTasks()[0]!

describe("pct", () => {
  it("list prints the printf layout with trailing spaces, sorted by vmid", async () => {
    const env = setup()
    const r = await run(env, "pct list")
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe(
      pctRow("VMID", "Status", "Lock", "Name") +
        pctRow("100", "running", "", "dns") +
        pctRow("101", "running", "", "docker") +
        pctRow("102", "stopped", "", "lab-alpine") +
        pctRow("9001", "stopped", "", "scratch-ct")
    )
    expect(r.stdout.split("\n")[0]).toBe("VMID       Status     Lock         Name                ")
  })

  it("status, missing config and parameter errors exit 255 on stderr", async () => {
    const env = setup()
    expect(await run(env, "pct status 100")).toEqual({ stdout: "status: running\n", stderr: "", exitCode: 0 })
    expect(await run(env, "pct status 102")).toEqual({ stdout: "status: stopped\n", stderr: "", exitCode: 0 })
    expect(await run(env, "pct status 999")).toEqual({ stdout: "", stderr: "Configuration file 'nodes/pve/lxc/999.conf' does not exist\n", exitCode: 255 })
    expect(await run(env, "pct status abc")).toEqual({
      stdout: "",
      stderr: "400 Parameter verification failed.\nvmid: type check ('integer') failed - got 'abc'\npct status <vmid> [OPTIONS]\n",
      exitCode: 255
    })
    const bogus = await run(env, "pct frobnicate 100")
    expect(bogus.exitCode).toBe(255)
    expect(bogus.stderr).toContain("unknown command 'pct frobnicate'")
  })

  it("config is sorted key: value without digest, raw lxc lines last", async () => {
    const env = setup()
    const r = await run(env, "pct config 101")
    expect(r.exitCode).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines.some((l) => l.startsWith("digest"))).toBe(false)
    expect(lines[lines.length - 1]).toBe("lxc.cgroup2.devices.allow: c 226:128 rwm")
    const keys = lines.filter((l) => !l.startsWith("lxc.")).map((l) => l.slice(0, l.indexOf(":")))
    expect(keys).toEqual([...keys].sort())
    expect(r.stdout).toContain("dev0: /dev/dri/renderD128,gid=104\n")
    expect(r.stdout).toContain("mp0: /tank/media,mp=/media\n")
  })

  it("exec passes inner stdout, stderr and exit code through; stopped CT is 255", async () => {
    const env = setup()
    expect(await run(env, "pct exec 101 -- bash -c 'echo out; echo err >&2; exit 7'")).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 7 })
    expect(await run(env, "pct exec 102 -- ls /")).toEqual({ stdout: "", stderr: "container '102' not running!\n", exitCode: 255 })
    const missing = await run(env, "pct exec 101 -- nosuchbinary --flag")
    expect(missing.exitCode).toBe(127)
    expect(missing.stderr).toContain('Failed to exec "nosuchbinary"')
    expect(await run(env, "pct exec 101 -- hostname")).toEqual({ stdout: "docker\n", stderr: "", exitCode: 0 })
    expect(await run(env, "pct exec 101 -- cat", "piped\n")).toEqual({ stdout: "piped\n", stderr: "", exitCode: 0 })
  })

  it("the product's exact argv works: nested timeouts, stat, readlink, mktemp, pull, push, mv, sha256sum", async () => {
    const env = setup()
    expect(await run(env, "timeout --signal=TERM --kill-after=5 35 pct exec 101 -- timeout -s TERM -k 5 30 bash -c 'echo hi'")).toEqual({ stdout: "hi\n", stderr: "", exitCode: 0 })
    const hosts = await env.machines.guest(101)!.vfs.readFile("/etc/hosts")
    expect(await run(env, "pct exec 101 -- stat -c '%F|%s|%a|%u|%g' -- /etc/hosts")).toEqual({ stdout: `regular file|${Buffer.byteLength(hosts)}|644|0|0\n`, stderr: "", exitCode: 0 })
    expect(await run(env, "pct exec 101 -- readlink -f -- /etc/os-release")).toEqual({ stdout: "/usr/lib/os-release\n", stderr: "", exitCode: 0 })
    const tmp = await run(env, "mktemp -p /tmp mcp.XXXXXXXX")
    expect(tmp.exitCode).toBe(0)
    expect(tmp.stdout).toMatch(/^\/tmp\/mcp\.[A-Za-z0-9]{8}\n$/)
    const path = tmp.stdout.trim()
    expect((await run(env, `stat -c '%a %s' ${path}`)).stdout).toBe("600 0\n")
    expect(await run(env, `pct pull 101 /etc/hosts ${path}`)).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(await env.host.vfs.readFile(path)).toBe(hosts)
    expect((await run(env, `stat -c '%a' ${path}`)).stdout).toBe("600\n")

    await env.host.vfs.writeFile("/tmp/x", "10.0.0.1 new\n")
    expect(await run(env, "pct push 101 /tmp/x /etc/.hosts.mcp-1a2b --perms 644 --user 0 --group 0")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(await run(env, "pct exec 101 -- mv -f -- /etc/.hosts.mcp-1a2b /etc/hosts")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(await run(env, "pct exec 101 -- sha256sum -- /etc/hosts")).toEqual({ stdout: `${await sha256("10.0.0.1 new\n")}  /etc/hosts\n`, stderr: "", exitCode: 0 })
    expect(await run(env, "pct exec 101 -- cat /etc/hosts")).toEqual({ stdout: "10.0.0.1 new\n", stderr: "", exitCode: 0 })
  })

  it("push sets mode and owner; copy errors print 'failed to open' and exit 0; stopped CT refuses", async () => {
    const env = setup()
    await env.host.vfs.writeFile("/tmp/src", "data")
    expect((await run(env, "pct push 101 /tmp/src /root/f --perms 600 --user 1000 --group 33")).exitCode).toBe(0)
    expect((await run(env, "pct exec 101 -- stat -c '%a %u %g %s' /root/f")).stdout).toBe("600 1000 33 4\n")
    expect(await run(env, "pct push 101 /tmp/src /nope/dir/f")).toEqual({ stdout: "", stderr: "failed to open /nope/dir/f: No such file or directory\n", exitCode: 0 })
    expect(await run(env, "pct push 102 /tmp/src /root/f")).toEqual({ stdout: "", stderr: "can only push files to a running CT\n", exitCode: 255 })
    expect(await run(env, "pct pull 102 /etc/hosts /tmp/y")).toEqual({ stdout: "", stderr: "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 1034.\n", exitCode: 255 })
  })

  it("pull of a missing file follows the pctPullMissing flag", async () => {
    const env = setup()
    await env.host.vfs.writeFile("/tmp/dest", "old")
    expect(await run(env, "pct pull 101 /etc/missing /tmp/dest")).toEqual({ stdout: "", stderr: "failed to open /etc/missing: No such file or directory\n", exitCode: 0 })
    expect(await env.host.vfs.readFile("/tmp/dest")).toBe("")
    env.lab.setFlags({ pctPullMissing: "exit0" })
    await env.host.vfs.writeFile("/tmp/dest", "old")
    expect((await run(env, "pct pull 101 /etc/missing /tmp/dest")).exitCode).toBe(0)
    expect(await env.host.vfs.readFile("/tmp/dest")).toBe("old")
    env.lab.setFlags({ pctPullMissing: "exit255" })
    expect((await run(env, "pct pull 101 /etc/missing /tmp/dest")).exitCode).toBe(255)
  })

  it("listsnapshot prints the tree with prefixes, local time and 'You are here!'", async () => {
    const env = setup()
    const g = env.lab.getGuest(100)!
    const pre = g.snapshots.get("pre-upgrade")!
    const post = g.snapshots.get("post-upgrade")!
    const t = (s: number) => new Date(s * 1000).toISOString().replace("T", " ").slice(0, 19)
    const line = (prefix: string, name: string, time: string, desc: string) => `${prefix} ${name.padEnd(30 - prefix.length)} ${time.padEnd(23)} ${desc}\n`
    expect((await run(env, "pct listsnapshot 100")).stdout).toBe(
      line("`->", "pre-upgrade", t(pre.snaptime), pre.description.split("\n")[0] || "no-description") +
        line(" `->", "post-upgrade", t(post.snaptime), post.description.split("\n")[0] || "no-description") +
        line("  `->", "current", "", "You are here!")
    )
  })

  it("snapshot creates a root@pam task the API lists; reserved and duplicate names fail", async () => {
    const env = setup()
    const r = await run(env, "pct snapshot 100 cli-snap --description 'from the cli'")
    expect(r).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    const task = lastTask(env.lab)
    expect(task.type).toBe("vzsnapshot")
    expect(task.user).toBe("root@pam")
    expect(task.tokenid).toBeUndefined()
    expect(task.exitstatus).toBe("OK")
    expect(env.lab.getGuest(100)!.snapshots.get("cli-snap")?.description).toBe("from the cli")
    expect(await run(env, "pct snapshot 100 current")).toEqual({ stdout: "", stderr: "unable to use snapshot name 'current' (reserved name)\n", exitCode: 255 })
    expect(await run(env, "pct snapshot 100 cli-snap")).toEqual({ stdout: "", stderr: "snapshot name 'cli-snap' already used\n", exitCode: 255 })
    const cannot = await run(env, "pct snapshot 101 nope")
    expect(cannot).toEqual({ stdout: "", stderr: "snapshot feature is not available\n", exitCode: 255 })
    expect(await run(env, "pct delsnapshot 100 missing")).toEqual({ stdout: "", stderr: "snapshot 'missing' does not exist\n", exitCode: 255 })
  })

  it("rollback restores the files pct exec sees", async () => {
    const env = setup()
    await run(env, "pct exec 100 -- bash -c 'echo before > /root/state'")
    expect((await run(env, "pct snapshot 100 keep")).exitCode).toBe(0)
    await run(env, "pct exec 100 -- bash -c 'echo after > /root/state; touch /root/extra'")
    expect((await run(env, "pct exec 100 -- cat /root/state")).stdout).toBe("after\n")
    expect(await run(env, "pct rollback 100 keep --start")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect((await run(env, "pct exec 100 -- cat /root/state")).stdout).toBe("before\n")
    expect((await run(env, "pct exec 100 -- ls /root/extra")).exitCode).not.toBe(0)
  })

  it("lifecycle verbs run the API's tasks silently; killing the CLI does not cancel them", async () => {
    const env = setup({ clock: "manual" })
    const started = env.host.exec("timeout 1 pct start 9001")
    await new Promise((r) => setTimeout(r, 50))
    env.lab.advance(1.5)
    const r = await started
    expect(r.exitCode).toBe(124)
    expect(env.lab.getGuest(9001)!.status).toBe("stopped")
    env.lab.advance(5)
    expect(env.lab.getGuest(9001)!.status).toBe("running")
    expect(lastTask(env.lab).type).toBe("vzstart")
    expect(lastTask(env.lab).user).toBe("root@pam")
  })

  it("start on a running CT and stop on a stopped one fail up front", async () => {
    const env = setup()
    expect(await run(env, "pct start 100")).toEqual({ stdout: "", stderr: "CT 100 already running\n", exitCode: 255 })
    expect(await run(env, "pct stop 102")).toEqual({ stdout: "", stderr: "CT 102 not running\n", exitCode: 255 })
    expect(await run(env, "pct start 102")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect((await run(env, "pct status 102")).stdout).toBe("status: running\n")
  })
})

const sha256 = async (s: string) => (await import("node:crypto")).createHash("sha256").update(s).digest("hex")

describe("qm", () => {
  it("list prints the printf layout (MEM in MiB, disk %.2f GiB, PID 0 when stopped)", async () => {
    const env = setup()
    const g200 = env.lab.getGuest(200)!
    const r = await run(env, "qm list")
    expect(r.exitCode).toBe(0)
    const lines = r.stdout.split("\n")
    expect(lines[0] + "\n").toBe(qmRow("VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID"))
    expect(lines[0]).toBe("      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       ")
    expect(lines[1] + "\n").toBe(qmRow("200", "debian-vm", "running", "4096", "32.00", String(g200.pid)))
    expect(r.stdout).toContain(qmRow("9000", "scratch-vm", "stopped", "1024", "8.00", "0"))
  })

  it("status prints qmpstatus; guest cmd prints Perl pretty JSON; ping is silent", async () => {
    const env = setup()
    expect(await run(env, "qm status 200")).toEqual({ stdout: "status: running\n", stderr: "", exitCode: 0 })
    expect(await run(env, "qm guest cmd 200 ping")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    const host = await run(env, "qm agent 200 get-host-name")
    expect(host).toEqual({ stdout: '{\n   "host-name" : "debian-vm"\n}\n', stderr: "", exitCode: 0 })
    expect((await run(env, "qm guest cmd 200 fsfreeze-status")).stdout).toBe("thawed\n")
    expect(await run(env, "qm guest cmd 9000 ping")).toEqual({ stdout: "", stderr: "VM 9000 is not running\n", exitCode: 255 })
    expect(await run(env, "qm guest cmd 201 ping")).toEqual({ stdout: "", stderr: "No QEMU guest agent configured\n", exitCode: 255 })
    env.lab.getGuest(200)!.agent.running = false
    expect(await run(env, "qm guest cmd 200 ping")).toEqual({ stdout: "", stderr: "QEMU guest agent is not running\n", exitCode: 255 })
  })

  it("guest exec prints the JSON and exits 0 even when the command failed", async () => {
    const env = setup()
    expect(await run(env, "qm guest exec 200 --timeout 30 -- /bin/bash -c 'uname -a'")).toEqual({
      stdout: '{\n   "exitcode" : 0,\n   "exited" : 1,\n   "out-data" : "Linux debian-vm 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64 GNU/Linux\\n"\n}\n',
      stderr: "",
      exitCode: 0
    })
    const failing = await run(env, "qm guest exec 200 -- /bin/bash -c 'echo oops >&2; exit 3'")
    expect(failing).toEqual({ stdout: '{\n   "err-data" : "oops\\n",\n   "exitcode" : 3,\n   "exited" : 1\n}\n', stderr: "", exitCode: 0 })
  })

  it("guest exec returns the pid when --timeout expires", async () => {
    const env = setup()
    const r = await run(env, "qm guest exec 200 --timeout 2 -- /bin/bash -c 'sleep 60'")
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toBe("timeout reached, returning pid\n")
    expect(r.stdout).toMatch(/^\{\n {3}"pid" : \d+\n\}\n$/)
  })

  it("lifecycle verbs and snapshots create qm tasks", async () => {
    const env = setup()
    expect(await run(env, "qm start 9000")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(lastTask(env.lab).type).toBe("qmstart")
    expect((await run(env, "qm status 9000")).stdout).toBe("status: running\n")
    expect(await run(env, "qm snapshot 200 s1 --vmstate 0")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(lastTask(env.lab).type).toBe("qmsnapshot")
    expect((await run(env, "qm listsnapshot 200")).stdout).toContain(" s1 ")
    expect(await run(env, "qm stop 9000")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(await run(env, "qm config 999")).toEqual({ stdout: "", stderr: "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n", exitCode: 255 })
  })
})

describe("the transport's constant scripts", () => {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const PROBE =
    "if command -v bash >/dev/null 2>&1; then echo bash=yes; else echo bash=no; fi; " +
    "if command -v timeout >/dev/null 2>&1; then " +
    "if timeout -s TERM -k 5 5 true >/dev/null 2>&1; then echo timeout=yes; else echo timeout=broken; fi; " +
    "if timeout --help 2>&1 | grep -qi busybox; then echo busybox=yes; else echo busybox=no; fi; " +
    "else echo timeout=no; fi"

  it("the container shell probe tells Debian from Alpine", async () => {
    const env = setup()
    expect((await run(env, "pct start 102")).exitCode).toBe(0)
    expect(await run(env, `pct exec 101 -- sh -c ${q(PROBE)}`)).toEqual({ stdout: "bash=yes\ntimeout=yes\nbusybox=no\n", stderr: "", exitCode: 0 })
    expect(await run(env, `pct exec 102 -- sh -c ${q(PROBE)}`)).toEqual({ stdout: "bash=no\ntimeout=yes\nbusybox=yes\n", stderr: "", exitCode: 0 })
  })

  it("agent file-write with the base64 on stdin (46080 raw bytes, 61440 characters)", async () => {
    const env = setup()
    const raw = Buffer.alloc(46080, 0x61)
    const b64 = raw.toString("base64")
    expect(b64.length).toBe(61440)
    const script = 'exec pvesh create "$1" --file "$2" --content "$(cat)" --encode 0'
    expect(await run(env, `sh -c ${q(script)} sh /nodes/pve/qemu/200/agent/file-write /root/big.txt`, b64)).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(Buffer.from(await env.machines.guest(200)!.vfs.readFileBuffer("/root/big.txt")).equals(raw)).toBe(true)
    expect((await run(env, "qm guest exec 200 --timeout 5 -- test -x /bin/bash")).stdout).toBe('{\n   "exitcode" : 0,\n   "exited" : 1\n}\n')
  })
})

describe("pvesh", () => {
  it("agent file-read with the product's exact argv: compact sorted JSON, base64, no truncated at EOF", async () => {
    const env = setup()
    const hosts = await env.machines.guest(200)!.vfs.readFileBuffer("/etc/hosts")
    const r = await run(env, "pvesh get /nodes/pve/qemu/200/agent/file-read --file /etc/hosts --offset 0 --count 2097153 --decode 0 --output-format json")
    expect(r).toEqual({ stdout: `{"bytes-read":${hosts.length},"content":"${Buffer.from(hosts).toString("base64")}"}\n`, stderr: "", exitCode: 0 })
  })

  it("file-read windows set truncated before EOF; missing file and too-large count fail with 255", async () => {
    const env = setup()
    const r = await run(env, "pvesh get /nodes/pve/qemu/200/agent/file-read --file /etc/hosts --offset 2 --count 5 --decode 0 --output-format json")
    const hosts = Buffer.from(await env.machines.guest(200)!.vfs.readFileBuffer("/etc/hosts"))
    expect(JSON.parse(r.stdout)).toEqual({ "bytes-read": 5, content: hosts.subarray(2, 7).toString("base64"), truncated: 1 })
    expect(await run(env, "pvesh get /nodes/pve/qemu/200/agent/file-read --file /nope --output-format json")).toEqual({
      stdout: "",
      stderr: "Agent error: failed to open file '/nope' (mode: 'r'): No such file or directory\n",
      exitCode: 255
    })
    const big = await run(env, "pvesh get /nodes/pve/qemu/200/agent/file-read --file /etc/hosts --count 16777217 --output-format json")
    expect(big.exitCode).toBe(255)
    expect(big.stderr).toContain("400 Parameter verification failed.")
  })

  it("file-write truncates, prints nothing, and enforces the 61440-character limit", async () => {
    const env = setup()
    const content = Buffer.from("written by agent\n").toString("base64")
    expect(await run(env, `pvesh create /nodes/pve/qemu/200/agent/file-write --file /root/new --content ${content} --encode 0`)).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(await env.machines.guest(200)!.vfs.readFile("/root/new")).toBe("written by agent\n")
    const tooLong = "A".repeat(61441)
    const r = await run(env, `pvesh create /nodes/pve/qemu/200/agent/file-write --file /root/new --content ${tooLong} --encode 0`)
    expect(r.exitCode).toBe(255)
    expect(r.stderr).toContain("content: value may only be 61440 characters long")
  })

  it("agent file errors carry qemu-ga's errno text: a directory fails the read, a write opens 'wb'", async () => {
    const env = setup()
    const vm = env.machines.guest(200)!
    await vm.vfs.mkdir("/tmp/d", { recursive: true })
    await vm.vfs.writeFile("/tmp/f", new Uint8Array([1]))
    const write = (file: string) => run(env, `pvesh create /nodes/pve/qemu/200/agent/file-write --file ${file} --content eA== --encode 0`)
    expect(await run(env, "pvesh get /nodes/pve/qemu/200/agent/file-read --file /tmp --decode 0 --output-format json")).toEqual({
      stdout: "",
      stderr: "Agent error: failed to read file: Is a directory\n",
      exitCode: 255
    })
    expect(await write("/nodir/x")).toEqual({ stdout: "", stderr: "Agent error: failed to open file '/nodir/x' (mode: 'wb'): No such file or directory\n", exitCode: 255 })
    expect(await write("/tmp/d")).toEqual({ stdout: "", stderr: "Agent error: failed to open file '/tmp/d' (mode: 'wb'): Is a directory\n", exitCode: 255 })
    expect(await write("/tmp/f/x")).toEqual({ stdout: "", stderr: "Agent error: failed to open file '/tmp/f/x' (mode: 'wb'): Not a directory\n", exitCode: 255 })
  })

  it("unknown paths and other endpoints", async () => {
    const env = setup()
    expect(await run(env, "pvesh get /nodes/pve/bogus")).toEqual({ stdout: "", stderr: "no 'get' handler for '/nodes/pve/bogus'\n", exitCode: 255 })
    expect(await run(env, "pvesh get /version --output-format json")).toEqual({ stdout: '{"release":"9.1","repoid":"f4d3f125ffae50e9","version":"9.1.1"}\n', stderr: "", exitCode: 0 })
    const status = await run(env, "pvesh get /nodes/pve/lxc/100/status/current --output-format json")
    expect(status.exitCode).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ vmid: 100, status: "running" })
    const err = await run(env, "pvesh create /nodes/pve/lxc/100/status/start")
    expect(err).toEqual({ stdout: "", stderr: "CT 100 already running\n", exitCode: 255 })
  })
})

describe("node tools", () => {
  it("pveversion and -v", async () => {
    const env = setup()
    expect(await run(env, "pveversion")).toEqual({ stdout: "pve-manager/9.1.1/f4d3f125ffae50e9 (running kernel: 6.17.2-1-pve)\n", stderr: "", exitCode: 0 })
    const v = await run(env, "pveversion -v")
    expect(v.stdout.split("\n").slice(0, 2)).toEqual(["proxmox-ve: 9.1.0 (running kernel: 6.17.2-1-pve)", "pve-manager: 9.1.1 (running version: 9.1.1/f4d3f125ffae50e9)"])
    expect(v.stdout).toContain("qemu-server: 9.1.1\n")
    expect(await run(env, "pveversion --bogus")).toEqual({ stdout: "", stderr: "USAGE: pveversion [--verbose]\n", exitCode: 255 })
  })

  it("pvesm status uses the printf layout with KiB integers and %7.2f%%", async () => {
    const env = setup()
    const r = await run(env, "pvesm status")
    const lines = r.stdout.trimEnd().split("\n")
    const maxlen = "local-lvm".length + 1
    const row = (a: string, b: string, c: string, d: string, e: string, f: string, g: string) =>
      `${a.padEnd(maxlen)} ${b.padStart(10)} ${c.padStart(10)} ${d.padStart(15)} ${e.padStart(15)} ${f.padStart(15)} ${g.padStart(8)}`
    expect(lines[0]).toBe(row("Name", "Type", "Status", "Total (KiB)", "Used (KiB)", "Available (KiB)", "%"))
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["backups", "local", "local-lvm", "tank"])
    const u = env.lab.storeUsage("tank")
    expect(lines[4]).toBe(row("tank", "zfspool", "active", String(Math.floor(u.total / 1024)), String(Math.floor(u.used / 1024)), String(Math.floor(u.avail / 1024)), `${((u.used * 100) / u.total).toFixed(2)}%`))
  })

  it("pveum manages users, roles, tokens and ACLs in the shared state", async () => {
    const env = setup()
    expect(await run(env, "pveum user add bot@pve")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect((await run(env, "pveum user add bot@pve")).stderr).toContain("create user failed")
    expect(await run(env, "pveum role add Bot -privs 'VM.Audit,Sys.Audit'")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect((await run(env, "pveum role add Bad -privs 'Not.A.Priv'")).stderr).toContain("invalid privilege 'Not.A.Priv'")
    const token = await run(env, "pveum user token add bot@pve bot-token --privsep 1 --output-format json")
    const parsed = JSON.parse(token.stdout) as { "full-tokenid": string; info: { privsep: number }; value: string }
    expect(Object.keys(parsed)).toEqual(["full-tokenid", "info", "value"])
    expect(parsed["full-tokenid"]).toBe("bot@pve!bot-token")
    expect(parsed.info).toEqual({ privsep: 1 })
    expect(parsed.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(env.lab.tokens.get("bot@pve!bot-token")?.secret).toBe(parsed.value)
    expect(await run(env, "pveum user token add bot@pve bot-token --privsep 1 --output-format json")).toEqual({ stdout: "", stderr: "tokenid: Token already exists.\n", exitCode: 255 })
    expect(await run(env, "pveum user token list bot@pve --output-format json")).toEqual({ stdout: '[{"expire":0,"privsep":1,"tokenid":"bot-token"}]\n', stderr: "", exitCode: 0 })
    expect(await run(env, "pveum acl modify / --users bot@pve --roles Bot")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    const acl = JSON.parse((await run(env, "pveum acl list --output-format json")).stdout) as Array<Record<string, unknown>>
    expect(acl).toContainEqual({ path: "/", propagate: 1, roleid: "Bot", type: "user", ugid: "bot@pve" })
    expect(env.lab.permissions("bot@pve", "/vms/100").get("VM.Audit")).toBe(1)
    expect(await run(env, "pveum acl delete / --users bot@pve --roles Bot")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(env.lab.permissions("bot@pve", "/vms/100").get("VM.Audit")).toBeUndefined()
    expect(await run(env, "pveum user token remove bot@pve bot-token")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(await run(env, "pveum user delete bot@pve")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(env.lab.users.has("bot@pve")).toBe(false)
  })

  it("zpool status -x and apt-get -s simulate without changing anything", async () => {
    const env = setup()
    expect(await run(env, "zpool status -x")).toEqual({ stdout: "all pools are healthy\n", stderr: "", exitCode: 0 })
    env.lab.zfsPools[0]!.health = "DEGRADED"
    const degraded = await run(env, "zpool status -x")
    expect(degraded.stdout).toContain("  pool: tank\n state: DEGRADED\n")
    env.lab.zfsPools = []
    expect((await run(env, "zpool status")).stdout).toBe("no pools available\n")
    const before = JSON.stringify(env.lab.aptUpdates)
    const r = await run(env, "apt-get -s -o Debug::NoLocking=1 dist-upgrade")
    expect(r.exitCode).toBe(0)
    expect(r.stdout.startsWith("NOTE: This is only a simulation!\n")).toBe(true)
    const inst = r.stdout.split("\n").filter((l) => l.startsWith("Inst "))
    expect(inst).toHaveLength(env.lab.aptUpdates.length)
    expect(inst[0]).toBe("Inst pve-manager [9.1.1] (9.1.2 Proxmox:9.1/trixie [amd64])")
    expect(JSON.stringify(env.lab.aptUpdates)).toBe(before)
    expect((await run(env, "tailscale status --json")).exitCode).toBe(127)
  })

  it("vzdump runs the backup task and the archive appears in pvesm list", async () => {
    const env = setup()
    const r = await run(env, "vzdump 100 --storage backups --mode snapshot --compress zstd --notes-template '{{guestname}}'")
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain("INFO:")
    const list = await run(env, "pvesm list backups --content backup")
    expect(list.stdout).toMatch(/backups:backup\/vzdump-lxc-100-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.tar\.zst/)
    expect((await run(env, "vzdump 100 --storage local")).stderr).toContain("can't use storage 'local' for backups - wrong content type")
  })

  it("API-side changes are visible to the CLI at once (one state)", () =>
    Effect.gen(function* () {
      const env = setup()
      const task = env.lab.startGuest(102)
      expect(task._tag).toBe("Right")
      if (task._tag === "Right") yield* env.lab.awaitTask(task.right.upid)
      const r = yield* Effect.promise(() => run(env, "pct list"))
      expect(r.stdout).toContain(pctRow("102", "running", "", "lab-alpine"))
    }).pipe(Effect.runPromise))
})
