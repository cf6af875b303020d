/**
 * File primitives and system commands with GNU (Debian, host) and BusyBox (Alpine) behaviour, as the
 * product calls them (sandbox.md §3.4, §5.1): stat, readlink, sha256sum, find, xargs, mktemp, tail,
 * mv, rm, timeout (124/137/125/126/127), sleep on virtual time, date, df, free, uptime, nproc, ip,
 * journalctl, systemctl, docker, ssh-keygen, openssl. Goldens are hand-written from the spec.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash, X509Certificate } from "node:crypto"
import { buildLab } from "../src/lab/Lab.js"
import * as Machines from "../src/machines/Machines.js"
import * as HostKey from "../src/ssh/HostKey.js"
import { generateCertificate } from "../src/tls/Certificates.js"

const HOST_KEY = HostKey.generate("root@pve")

const setup = (options: { clock?: "manual" } = {}) => {
  const lab = buildLab({ seed: 1, timeScale: 0.01, ...options })
  const machines = Machines.make(lab, { hostPublicKey: HOST_KEY.publicKey })
  lab.setMachines(machines)
  return { lab, machines, host: machines.host() }
}

const sha = (s: string | Uint8Array) => createHash("sha256").update(s).digest("hex")

describe("file primitives (GNU)", () => {
  it("stat -c and --printf: types, owners from the owner table, missing file", async () => {
    const { host } = setup()
    await host.vfs.writeFile("/tmp/empty", "")
    await host.vfs.symlink("/etc/hosts", "/tmp/link")
    const hosts = await host.vfs.readFile("/etc/hosts")
    expect(await host.exec("stat -c '%F|%s|%a|%u|%g' -- /etc/hosts /tmp/empty /tmp/link /etc /etc/pve/storage.cfg")).toEqual({
      stdout: `regular file|${Buffer.byteLength(hosts)}|644|0|0\nregular empty file|0|644|0|0\nsymbolic link|10|777|0|0\ndirectory|4096|755|0|0\nregular file|${Buffer.byteLength(await host.vfs.readFile("/etc/pve/storage.cfg"))}|640|0|33\n`,
      stderr: "",
      exitCode: 0
    })
    expect(await host.exec("stat -c %n -- /nope /etc/hosts")).toEqual({ stdout: "/etc/hosts\n", stderr: "stat: cannot statx '/nope': No such file or directory\n", exitCode: 1 })
    expect(await host.exec("stat --printf 'M %s %a %u %g %n\\0' -- /tmp/empty")).toEqual({ stdout: "M 0 644 0 0 /tmp/empty\0", stderr: "", exitCode: 0 })
    const y = await host.exec("stat -c %Y /var/lib/apt/lists")
    expect(y.stdout.trim()).toBe(String(setup().lab.aptListsUpdated))
  })

  it("readlink -f: canonical path, missing last component allowed, missing parent is 1 with no output", async () => {
    const { host } = setup()
    expect(await host.exec("readlink -f -- /etc/pve/lxc/100.conf")).toEqual({ stdout: "/etc/pve/nodes/pve/lxc/100.conf\n", stderr: "", exitCode: 0 })
    expect(await host.exec("readlink -f -- /etc/newfile")).toEqual({ stdout: "/etc/newfile\n", stderr: "", exitCode: 0 })
    expect(await host.exec("readlink -f -- /nope/newfile")).toEqual({ stdout: "", stderr: "", exitCode: 1 })
    expect(await host.exec("readlink -f /root/.ssh/authorized_keys")).toEqual({ stdout: "/etc/pve/priv/authorized_keys\n", stderr: "", exitCode: 0 })
  })

  it("sha256sum: -- and -z, escaped names, missing file", async () => {
    const { host } = setup()
    await host.vfs.writeFile("/tmp/a b", "x")
    await host.vfs.writeFile("/tmp/back\\slash", "y")
    expect(await host.exec("sha256sum -- '/tmp/a b'")).toEqual({ stdout: `${sha("x")}  /tmp/a b\n`, stderr: "", exitCode: 0 })
    expect(await host.exec("sha256sum -z -- '/tmp/a b'")).toEqual({ stdout: `${sha("x")}  /tmp/a b\0`, stderr: "", exitCode: 0 })
    expect(await host.exec("sha256sum '/tmp/back\\slash'")).toEqual({ stdout: `\\${sha("y")}  /tmp/back\\\\slash\n`, stderr: "", exitCode: 0 })
    expect(await host.exec("sha256sum -- /nope")).toEqual({ stdout: "", stderr: "sha256sum: /nope: No such file or directory\n", exitCode: 1 })
    expect(await host.exec("printf abc | sha256sum")).toEqual({ stdout: `${sha("abc")}  -\n`, stderr: "", exitCode: 0 })
  })

  it("find: -xdev stops at /etc/pve and /proc, -printf %y %T@ %p, -print0, --version", async () => {
    const { host } = setup()
    const xdev = await host.exec("find /etc -xdev -type f")
    expect(xdev.exitCode).toBe(0)
    expect(xdev.stdout).toContain("/etc/hosts\n")
    expect(xdev.stdout).not.toContain("/etc/pve/")
    const pve = await host.exec("find /etc/pve -xdev -type f -name '*.conf'")
    expect(pve.stdout.split("\n").filter(Boolean).sort()).toEqual(["/etc/pve/nodes/pve/lxc/100.conf", "/etc/pve/nodes/pve/lxc/101.conf", "/etc/pve/nodes/pve/lxc/102.conf", "/etc/pve/nodes/pve/lxc/9001.conf", "/etc/pve/nodes/pve/qemu-server/200.conf", "/etc/pve/nodes/pve/qemu-server/201.conf", "/etc/pve/nodes/pve/qemu-server/9000.conf"])
    const st = await host.vfs.stat("/etc/hosts")
    const ms = st.mtime.getTime()
    expect(await host.exec("find /etc/hosts -printf '%y\\t%T@\\t%p\\n'")).toEqual({ stdout: `f\t${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}0000000\t/etc/hosts\n`, stderr: "", exitCode: 0 })
    expect((await host.exec("find /etc/hosts /etc/hostname -print0")).stdout).toBe("/etc/hosts\0/etc/hostname\0")
    expect((await host.exec("find --version")).stdout.split("\n")[0]).toBe("find (GNU findutils) 4.10.0")
    expect(await host.exec("find /nope")).toEqual({ stdout: "", stderr: "find: '/nope': No such file or directory\n", exitCode: 1 })
    expect((await host.exec("find /etc -maxdepth 1 -type l")).stdout).toContain("/etc/mtab\n")
  })

  it("the config_sweep script pairs M and hash records by path", async () => {
    const { host } = setup()
    const script = `find "$@" -xdev -type f -print0 | xargs -0 -r sh -c 'stat --printf "M %s %a %u %g %n\\0" -- "$@"; sha256sum -z -- "$@"' sh`
    const r = await host.exec(`sh -c '${script.replace(/'/g, `'\\''`)}' sh /etc/pve`)
    expect(r.exitCode).toBe(0)
    const records = r.stdout.split("\0").filter(Boolean)
    const meta = new Map<string, string>()
    const hashes = new Map<string, string>()
    for (const rec of records) {
      const m = /^M (\d+) (\d+) (\d+) (\d+) (.*)$/s.exec(rec)
      if (m) meta.set(m[5]!, rec)
      else {
        const h = /^([0-9a-f]{64}) {2}(.*)$/s.exec(rec)
        expect(h, rec).not.toBeNull()
        hashes.set(h![2]!, h![1]!)
      }
    }
    expect([...meta.keys()].sort()).toEqual([...hashes.keys()].sort())
    const storage = await host.vfs.readFile("/etc/pve/storage.cfg")
    expect(meta.get("/etc/pve/storage.cfg")).toBe(`M ${Buffer.byteLength(storage)} 640 0 33 /etc/pve/storage.cfg`)
    expect(hashes.get("/etc/pve/storage.cfg")).toBe(sha(storage))
    expect(meta.has("/etc/pve/priv/token.cfg")).toBe(true)
  })

  it("xargs exit codes: 123 for 1-125, 124 for 255, -r skips empty input", async () => {
    const { host } = setup()
    expect(await host.exec("printf 'a\\0b\\0' | xargs -0 -n 1 echo")).toEqual({ stdout: "a\nb\n", stderr: "", exitCode: 0 })
    expect((await host.exec("printf 'a b' | xargs sh -c 'exit 3' sh")).exitCode).toBe(123)
    expect((await host.exec("printf 'a' | xargs sh -c 'exit 255' sh")).exitCode).toBe(124)
    expect(await host.exec("printf '' | xargs -r echo hi")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(await host.exec("printf '' | xargs echo hi")).toEqual({ stdout: "hi\n", stderr: "", exitCode: 0 })
  })

  it("mktemp -p creates 0600 files with seeded names; missing dir fails", async () => {
    const a = setup()
    const b = setup()
    const r1 = await a.host.exec("mktemp -p /tmp mcp.XXXXXXXX")
    const r2 = await b.host.exec("mktemp -p /tmp mcp.XXXXXXXX")
    expect(r1.stdout).toBe(r2.stdout)
    expect((await a.host.exec(`stat -c '%a %s %F' ${r1.stdout.trim()}`)).stdout).toBe("600 0 regular empty file\n")
    expect((await a.host.exec("stat -c %a $(mktemp -d -p /tmp d.XXXX)")).stdout).toBe("700\n")
    expect(await a.host.exec("mktemp -p /nope mcp.XXXXXXXX")).toEqual({ stdout: "", stderr: "mktemp: failed to create file via template '/nope/mcp.XXXXXXXX': No such file or directory\n", exitCode: 1 })
  })

  it("tail -n N --, mv -f --, rm -f --, command -v, hostname, whoami, id", async () => {
    const { host } = setup()
    await host.vfs.writeFile("/tmp/log", "1\n2\n3\n")
    expect(await host.exec("tail -n 2 -- /tmp/log")).toEqual({ stdout: "2\n3\n", stderr: "", exitCode: 0 })
    expect(await host.exec("tail -n 2 -- /nope")).toEqual({ stdout: "", stderr: "tail: cannot open '/nope' for reading: No such file or directory\n", exitCode: 1 })
    await host.vfs.writeFile("/tmp/src", "s")
    expect(await host.exec("chown 33:33 /tmp/src && mv -f -- /tmp/src /tmp/log && stat -c '%u %g %s' /tmp/log")).toEqual({ stdout: "33 33 1\n", stderr: "", exitCode: 0 })
    expect(await host.exec("rm -f -- /tmp/absent; echo $?")).toEqual({ stdout: "0\n", stderr: "", exitCode: 0 })
    expect(await host.exec("command -v pct; command -v nosuch; echo $?")).toEqual({ stdout: "/usr/bin/pct\n1\n", stderr: "", exitCode: 0 })
    expect(await host.exec("hostname; whoami; id")).toEqual({ stdout: "pve\nroot\nuid=0(root) gid=0(root) groups=0(root)\n", stderr: "", exitCode: 0 })
    expect((await host.exec("grep -a -n -E -C 1 'pve\\.home' /etc/hosts")).stdout).toBe("1-127.0.0.1 localhost.localdomain localhost\n2:192.168.1.10 pve.home.arpa pve\n3-\n")
    expect(await host.exec("[[ -d /etc/pve && -f /etc/hosts ]] && echo yes")).toEqual({ stdout: "yes\n", stderr: "", exitCode: 0 })
  })
})

describe("curl on simulated services", () => {
  it("open ports answer, closed ports fail with 7, HTTPS needs -k", async () => {
    const { host } = setup()
    expect(await host.exec("pct exec 200 -- true")).toMatchObject({ exitCode: 255 })
    expect((await host.exec("curl -s -o /dev/null -w '%{http_code}' http://192.168.1.20/")).stdout).toBe("200")
    expect((await host.exec("pct exec 100 -- curl -s http://localhost/")).stdout).toContain("AdGuard Home")
    expect(await host.exec("pct exec 100 -- curl http://127.0.0.1:8080/")).toEqual({ stdout: "", stderr: "curl: (7) Failed to connect to 127.0.0.1 port 8080 after 0 ms: Couldn't connect to server\n", exitCode: 7 })
    expect((await host.exec("curl -s https://127.0.0.1:8006/")).exitCode).toBe(60)
    expect((await host.exec("curl -sk https://127.0.0.1:8006/")).stdout).toContain("Proxmox Virtual Environment")
    expect((await host.exec("curl -s http://nosuch.invalid/")).exitCode).toBe(6)
    expect((await host.exec("pct exec 102 -- curl -s http://localhost/")).exitCode).toBe(255)
  })
})

describe("ls -l", () => {
  it("prints GNU long format with owners from the owner table and virtual mtimes", async () => {
    const { host, lab } = setup()
    await host.vfs.writeFile("/tmp/f", "abc")
    expect((await host.exec("chown 33:33 /tmp/f")).exitCode).toBe(0)
    const d = new Date(lab.now() * 1000)
    const when = `${["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)}`
    expect((await host.exec("ls -l /tmp/f")).stdout).toMatch(new RegExp(`^-rw-r--r-- 1 www-data www-data 3 ${when} \\d\\d:\\d\\d /tmp/f\n$`))
    const pve = await host.exec("ls -la /etc/pve")
    expect(pve.stdout.startsWith("total ")).toBe(true)
    expect(pve.stdout).toMatch(/\n-rw-r----- 1 root www-data +\d+ [A-Z][a-z]{2} [ \d]\d \d\d:\d\d storage\.cfg\n/)
    expect(pve.stdout).toMatch(/\nlrwxrwxrwx 1 root www-data +\d+ .* lxc -> nodes\/pve\/lxc\n/)
    expect(await host.exec("ls -l /nope")).toEqual({ stdout: "", stderr: "ls: cannot access '/nope': No such file or directory\n", exitCode: 2 })
  })
})

describe("timeout and virtual time", () => {
  it("GNU exit codes: command's own, 124, 137 with KILL, 125 usage, 126, 127", async () => {
    const { host } = setup()
    expect(await host.exec("timeout 5 bash -c 'exit 7'")).toEqual({ stdout: "", stderr: "", exitCode: 7 })
    expect((await host.exec("timeout --signal=TERM --kill-after=5 2 sleep 10")).exitCode).toBe(124)
    expect((await host.exec("timeout -s KILL 1 sleep 10")).exitCode).toBe(137)
    expect((await host.exec("timeout --preserve-status 1 sleep 10")).exitCode).toBe(143)
    expect(await host.exec("timeout abc sleep 1")).toEqual({ stdout: "", stderr: "timeout: invalid time interval 'abc'\nTry 'timeout --help' for more information.\n", exitCode: 125 })
    expect(await host.exec("timeout 5 nosuch")).toEqual({ stdout: "", stderr: "timeout: failed to run command 'nosuch': No such file or directory\n", exitCode: 127 })
    expect(await host.exec("timeout 5 bash -c 'echo ok'")).toEqual({ stdout: "ok\n", stderr: "", exitCode: 0 })
  })

  it("sleep and timeout consume virtual time only (manual clock)", async () => {
    const { host, lab } = setup({ clock: "manual" })
    const t0 = lab.now()
    const running = host.exec("timeout 30 sleep 10; echo done $?")
    await new Promise((r) => setTimeout(r, 30))
    lab.advance(9)
    await new Promise((r) => setTimeout(r, 30))
    lab.advance(2)
    expect(await running).toEqual({ stdout: "done 0\n", stderr: "", exitCode: 0 })
    expect(lab.now() - t0).toBeCloseTo(11, 5)
    expect(await host.exec("date +%s")).toEqual({ stdout: `${Math.floor(lab.now())}\n`, stderr: "", exitCode: 0 })
    expect(await host.exec("touch /tmp/t; echo x > /tmp/w; stat -c %Y /tmp/t /tmp/w")).toEqual({ stdout: `${Math.floor(lab.now())}\n${Math.floor(lab.now())}\n`, stderr: "", exitCode: 0 })
  })
})

describe("system facts", () => {
  it("df -B1 --output keeps the requested order, aligns, omits pseudo filesystems", async () => {
    const { host } = setup()
    const r = await host.exec("df -B1 --output=source,fstype,target,size,used,avail")
    expect(r.exitCode).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^Filesystem +Type +Mounted on +1B-blocks +Used +Avail$/)
    const targets = lines.slice(1).map((l) => l.split(/\s+/)[2])
    expect(targets).toEqual(["/", "/dev", "/run", "/dev/shm", "/run/lock", "/sys/firmware/efi/efivars", "/etc/pve", "/tank", "/tank/media"])
    expect(new Set(lines.map((l) => l.length)).size).toBe(1)
    expect(r.stdout).not.toContain("proc")
    const pct = await host.exec("df -B1 --output=pcent,target /")
    expect(pct.stdout).toMatch(/^Use% Mounted on\n *\d+% \/\n$/)
  })

  it("free -b, uptime, nproc, ip -br addr", async () => {
    const { host, lab } = setup()
    const free = await host.exec("free -b")
    const [head, mem, swap] = free.stdout.split("\n")
    expect(head).toBe("               total        used        free      shared  buff/cache   available")
    expect(mem).toMatch(/^Mem: {4}( +\d+){6}$/)
    expect(mem!.slice(8, 20).trim()).toBe(String(lab.node.memTotal))
    expect(swap).toMatch(/^Swap: {3}( +\d+){3}$/)
    expect((await host.exec("uptime")).stdout).toMatch(/^ \d\d:\d\d:\d\d up 3 days, {1,2}\d{1,2}:\d\d, {2}1 user, {2}load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d\n$/)
    expect((await host.exec("uptime -p")).stdout).toMatch(/^up 3 days, \d+ hours?, \d+ minutes?\n$/)
    expect(await host.exec("nproc")).toEqual({ stdout: "16\n", stderr: "", exitCode: 0 })
    const ip = (await host.exec("ip -br addr")).stdout.split("\n")
    expect(ip[0]).toBe(`${"lo".padEnd(16)} ${"UNKNOWN".padEnd(14)} 127.0.0.1/8 ::1/128 `)
    expect(ip[2]).toBe(`${"vmbr0".padEnd(16)} ${"UP".padEnd(14)} 192.168.1.10/24 fe80::aaa1:59ff:fe3c:1102/64 `)
    expect(ip).toContain(`${"veth100i0@if2".padEnd(16)} ${"UP".padEnd(14)} `)
    expect((await host.exec("cat /proc/loadavg")).stdout).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+\n$/)
    expect((await host.exec("pct exec 101 -- nproc")).stdout).toBe("4\n")
  })

  it("ssh-keygen -lf and openssl x509 fingerprints", async () => {
    const { host } = setup()
    expect(await host.exec("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")).toEqual({ stdout: `256 ${HOST_KEY.fingerprint} root@pve (ED25519)\n`, stderr: "", exitCode: 0 })
    const cert = await Effect.runPromise(generateCertificate())
    await host.vfs.writeFile("/tmp/cert.pem", cert.certPem)
    const fp = new X509Certificate(cert.certPem).fingerprint256
    expect(await host.exec("openssl x509 -noout -fingerprint -sha256 -in /tmp/cert.pem")).toEqual({ stdout: `sha256 Fingerprint=${fp}\n`, stderr: "", exitCode: 0 })
    expect((await host.exec("openssl x509 -noout -fingerprint -sha256 -in /nope.pem")).exitCode).toBe(1)
  })
})

describe("journals and units", () => {
  it("journalctl: -u, -n, --since, -o short-iso/json/cat, no entries, bad timestamp", async () => {
    const { host, lab } = setup()
    const r = await host.exec("pct snapshot 100 journal-test")
    expect(r.exitCode).toBe(0)
    const task = lab.listTasks()[0]!
    const short = await host.exec("journalctl -u pvedaemon -n 2 --no-pager")
    const lines = short.stdout.trimEnd().split("\n")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(new RegExp(`^[A-Z][a-z]{2} \\d\\d \\d\\d:\\d\\d:\\d\\d pve pvedaemon\\[\\d+\\]: <root@pam> starting task ${task.upid.replace(/[$()*+.?[\\\]^{|}]/g, "\\$&")}$`))
    expect(lines[1]).toContain(`<root@pam> end task ${task.upid} OK`)
    const iso = await host.exec("journalctl -u pvedaemon -n 1 -o short-iso")
    expect(iso.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 pve pvedaemon\[\d+\]: /)
    const json = await host.exec("journalctl -u pvedaemon -n 1 -o json")
    const obj = JSON.parse(json.stdout) as Record<string, unknown>
    expect(Object.values(obj).every((v) => typeof v === "string")).toBe(true)
    expect(obj).toMatchObject({ _HOSTNAME: "pve", SYSLOG_IDENTIFIER: "pvedaemon", PRIORITY: "6", _SYSTEMD_UNIT: "pvedaemon.service" })
    expect((await host.exec("journalctl -u pvedaemon -n 1 -o cat")).stdout).toBe(`<root@pam> end task ${task.upid} OK\n`)
    expect(await host.exec("journalctl -u nosuch.service --no-pager")).toEqual({ stdout: "-- No entries --\n", stderr: "", exitCode: 0 })
    expect(await host.exec("journalctl --since 'garbage' ")).toEqual({ stdout: "", stderr: "Failed to parse timestamp: garbage\n", exitCode: 1 })
    expect(await host.exec("journalctl --since '1 hour ago' -u nosuch")).toEqual({ stdout: "-- No entries --\n", stderr: "", exitCode: 0 })
  })

  it("systemctl show -p in systemd's order, list-units --failed, is-active, restart", async () => {
    const { host, lab } = setup()
    const u = lab.hostUnits.get("pveproxy")!
    const ts = (s: number) => {
      const d = new Date(s * 1000)
      const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()]
      return `${day} ${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`
    }
    expect(await host.exec("systemctl show -p ActiveEnterTimestamp,SubState,MainPID,ActiveState pveproxy")).toEqual({
      stdout: `MainPID=${u.mainPid}\nActiveState=active\nSubState=running\nActiveEnterTimestamp=${ts(u.activeEnterTimestamp)}\n`,
      stderr: "",
      exitCode: 0
    })
    expect(await host.exec("systemctl list-units --failed --no-legend --plain")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    lab.hostUnits.get("pvestatd")!.activeState = "failed"
    lab.hostUnits.get("pvestatd")!.subState = "failed"
    expect(await host.exec("systemctl list-units --failed --no-legend --plain")).toEqual({ stdout: "pvestatd.service loaded failed failed PVE Status Daemon\n", stderr: "", exitCode: 0 })
    expect(await host.exec("systemctl is-active pvestatd")).toEqual({ stdout: "failed\n", stderr: "", exitCode: 3 })
    expect(await host.exec("systemctl is-active pveproxy.service")).toEqual({ stdout: "active\n", stderr: "", exitCode: 0 })
    const before = u.mainPid
    expect(await host.exec("systemctl restart pveproxy")).toEqual({ stdout: "", stderr: "", exitCode: 0 })
    expect(u.mainPid).not.toBe(before)
    expect(await host.exec("systemctl restart x")).toEqual({ stdout: "", stderr: "Failed to restart x.service: Unit x.service not found.\n", exitCode: 5 })
  })

  it("guest units and journal are the guest's own; Alpine has neither (127)", async () => {
    const { host, lab } = setup()
    expect(await host.exec("pct exec 100 -- systemctl is-active AdGuardHome")).toEqual({ stdout: "active\n", stderr: "", exitCode: 0 })
    expect((await host.exec("pct exec 100 -- journalctl -n 3 -o cat")).stdout.split("\n").filter(Boolean)).toHaveLength(3)
    expect((await host.exec("pct exec 100 -- systemctl list-units --failed --no-legend --plain")).stdout).toBe("")
    expect((await host.exec("pct exec 100 -- journalctl -u AdGuardHome -o cat")).stdout).toBe("Starting AdGuardHome.service - AdGuard Home: Network-level blocker...\nStarted AdGuardHome.service - AdGuard Home: Network-level blocker.\n")
    const t = lab.startGuest(102)
    expect(t._tag).toBe("Right")
    lab.advance(10)
    expect((await host.exec("pct exec 102 -- systemctl is-active x")).exitCode).toBe(127)
    expect((await host.exec("pct exec 102 -- journalctl -n 1")).exitCode).toBe(127)
  })
})

describe("Alpine (BusyBox) gaps", () => {
  const alpine = async () => {
    const env = setup()
    const t = env.lab.startGuest(102)
    expect(t._tag).toBe("Right")
    env.lab.advance(10)
    return env
  }

  it("no bash, BusyBox timeout rejects --signal, find has no -printf, stat texts differ", async () => {
    const { host } = await alpine()
    const bash = await host.exec("pct exec 102 -- bash -c 'echo hi'")
    expect(bash.exitCode).toBe(127)
    expect(bash.stderr).toContain('Failed to exec "bash"')
    expect(await host.exec("pct exec 102 -- sh -c 'echo hi'")).toEqual({ stdout: "hi\n", stderr: "", exitCode: 0 })
    const t = await host.exec("pct exec 102 -- timeout --signal=TERM 5 sh -c 'echo x'")
    expect(t.exitCode).toBe(1)
    expect(t.stderr).toContain("timeout: unrecognized option '--signal=TERM'")
    expect(await host.exec("pct exec 102 -- timeout -s TERM 5 sh -c 'echo x'")).toEqual({ stdout: "x\n", stderr: "", exitCode: 0 })
    expect((await host.exec("pct exec 102 -- timeout -s TERM 1 sleep 10")).exitCode).toBe(143)
    const find = await host.exec("pct exec 102 -- find /etc -printf '%p\\n'")
    expect(find.exitCode).toBe(1)
    expect((await host.exec("pct exec 102 -- find --version")).exitCode).toBe(1)
    expect(await host.exec("pct exec 102 -- stat -c %s /nope")).toEqual({ stdout: "", stderr: "stat: can't stat '/nope': No such file or directory\n", exitCode: 1 })
    expect((await host.exec("pct exec 102 -- command -v bash")).exitCode).toBe(1)
  })
})

describe("docker on the docker host (CT 101)", () => {
  it("ps --format with tab escapes, Status strings, 12 containers with -a", async () => {
    const { host } = setup()
    const r = await host.exec("pct exec 101 -- docker ps --format '{{.Names}}\\t{{.Image}}\\t{{.Status}}'")
    expect(r.exitCode).toBe(0)
    const rows = r.stdout.trimEnd().split("\n").map((l) => l.split("\t"))
    expect(rows).toHaveLength(11)
    expect(rows.find((x) => x[0] === "homepage")).toEqual(["homepage", "ghcr.io/gethomepage/homepage:v0.9.13", expect.stringMatching(/^Up 3 days \(healthy\)$/)])
    expect(rows.find((x) => x[0] === "prowlarr")).toBeUndefined()
    const all = await host.exec("pct exec 101 -- docker ps -a --format '{{json .}}'")
    const objs = all.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, string>)
    expect(objs).toHaveLength(12)
    expect(objs.find((o) => o["Names"] === "prowlarr")?.["Status"]).toMatch(/^Exited \(0\) /)
  })

  it("inspect has compose labels and mounts, no RepoDigests; exec, distroless, logs, stats", async () => {
    const { host } = setup()
    const r = await host.exec("pct exec 101 -- docker inspect qbittorrent")
    const [c] = JSON.parse(r.stdout) as Array<Record<string, unknown>>
    expect(c!["Name"]).toBe("/qbittorrent")
    expect((c!["Config"] as { Labels: Record<string, string> }).Labels["com.docker.compose.project"]).toBe("media")
    expect((c!["HostConfig"] as { NetworkMode: string }).NetworkMode).toBe("service:gluetun")
    expect((c!["Config"] as { Env: Array<string> }).Env).toContain("WEBUI_PORT=8080")
    expect(JSON.stringify(c)).not.toContain("RepoDigests")
    expect(await host.exec("pct exec 101 -- docker exec caddy cat /etc/hostname")).toMatchObject({ exitCode: 0 })
    const distroless = await host.exec("pct exec 101 -- docker exec portainer sh -c 'echo hi'")
    expect(distroless).toEqual({ stdout: "", stderr: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown\n', exitCode: 127 })
    expect((await host.exec("pct exec 101 -- docker exec nosuch ls")).stderr).toBe("Error response from daemon: No such container: nosuch\n")
    expect((await host.exec("pct exec 101 -- docker logs --tail 1 tailscale")).stdout).toMatch(/^\[info\] healthcheck ok\n$/)
    expect((await host.exec("pct exec 101 -- docker logs tailscale")).stdout).toContain("TS_AUTHKEY=tskey-auth-")
    const stats = await host.exec("pct exec 101 -- docker stats --no-stream --format '{{json .}}'")
    const s = JSON.parse(stats.stdout.split("\n")[0]!) as Record<string, string>
    expect(s["CPUPerc"]).toMatch(/^\d+\.\d\d%$/)
    expect(s["MemUsage"]).toMatch(/^\d+\.\dMiB \/ 7\.6GiB$/)
    expect(s["NetIO"]).toMatch(/^\d+\.\dMB \/ \d+\.\dGB$/)
  })

  it("a docker exec write changes the bind source on the guest", async () => {
    const { host } = setup()
    expect((await host.exec("pct exec 101 -- docker exec sonarr sh -c 'echo changed > /config/config.xml'")).exitCode).toBe(0)
    expect((await host.exec("pct exec 101 -- cat /opt/stacks/media/sonarr/config.xml")).stdout).toBe("changed\n")
    expect((await host.exec("pct exec 101 -- sh -c 'echo back > /opt/stacks/media/sonarr/new.txt'")).exitCode).toBe(0)
    expect((await host.exec("pct exec 101 -- docker exec sonarr cat /config/new.txt")).stdout).toBe("back\n")
  })

  it("tailscale status --json inside the tailscale container", async () => {
    const { host } = setup()
    const r = await host.exec("pct exec 101 -- docker exec tailscale tailscale status --json")
    const data = JSON.parse(r.stdout) as { BackendState: string; Self: { DNSName: string; Online: boolean }; Peer: Record<string, unknown>; TailscaleIPs: Array<string> }
    expect(data.BackendState).toBe("Running")
    expect(data.Self.DNSName.endsWith(".")).toBe(true)
    expect(data.Self.Online).toBe(true)
    expect(Object.keys(data.Peer).length).toBeGreaterThan(0)
    expect(data.TailscaleIPs[0]).toMatch(/^100\./)
  })

  it("compose ls lists the three projects with their config files", async () => {
    const { host } = setup()
    const r = await host.exec("pct exec 101 -- docker compose ls")
    expect(r.stdout.split("\n")[0]).toMatch(/^NAME +STATUS +CONFIG FILES$/)
    expect(r.stdout).toMatch(/\ninfra +running\(5\) +\/opt\/stacks\/infra\/compose\.yaml\n/)
    expect(r.stdout).toMatch(/\nmedia +running\(5\), exited\(1\) +\/opt\/stacks\/media\/compose\.yaml\n/)
    expect((await host.exec("pct exec 101 -- stat -c %a /opt/stacks/media/.env")).stdout).toBe("600\n")
  })
})

describe("more node and guest facts", () => {
  it("compose up -d recreates containers with new ids; ss -tlnp lists listeners", async () => {
    const { host } = setup()
    const before = (await host.exec("pct exec 101 -- docker ps -a --format '{{.Names}} {{.ID}}'")).stdout
    const up = await host.exec("pct exec 101 -- docker compose -p tools up -d")
    expect(up.exitCode).toBe(0)
    expect(up.stderr).toContain(" Container dozzle  Recreated\n")
    const after = (await host.exec("pct exec 101 -- docker ps -a --format '{{.Names}} {{.ID}}'")).stdout
    const id = (out: string, name: string) => out.split("\n").find((l) => l.startsWith(`${name} `))
    expect(id(after, "dozzle")).not.toBe(id(before, "dozzle"))
    expect(id(after, "caddy")).toBe(id(before, "caddy"))
    const ss = await host.exec("ss -tlnp")
    expect(ss.stdout.split("\n")[0]).toMatch(/^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:PortProcess$/)
    expect(ss.stdout).toMatch(/LISTEN .*:8006 .*users:\(\("pveproxy worker",pid=\d+,fd=6\)\)/)
  })

  it("journalctl -f blocks until killed; qm guest exec refuses stdin over 1 MiB", async () => {
    const { host } = setup()
    const follow = await host.exec("timeout 2 journalctl -f -u pvedaemon")
    expect(follow.exitCode).toBe(124)
    const big = "x".repeat(1024 * 1024 + 1)
    expect(await host.exec("qm guest exec 200 --pass-stdin 1 -- cat", { stdin: big })).toEqual({ stdout: "", stderr: "'input-data' (STDIN) is limited to 1 MiB, aborting\n", exitCode: 255 })
  })

  it("guests report their own memory, cores and addresses", async () => {
    const { host, lab } = setup()
    const g = lab.getGuest(100)!
    const free = await host.exec("pct exec 100 -- free -b")
    expect(free.stdout.split("\n")[1]!.slice(8, 20).trim()).toBe(String(lab.maxmem(g)))
    expect((await host.exec("pct exec 100 -- nproc")).stdout).toBe(`${g.config["cores"]}\n`)
    expect((await host.exec("pct exec 100 -- ip -br addr")).stdout).toContain(`${g.ip}/24`)
    expect((await host.exec("pct exec 100 -- uname -r")).stdout).toBe("6.17.2-1-pve\n")
    expect((await host.exec("qm guest exec 200 -- uname -r")).stdout).toContain("6.1.0-28-amd64")
  })
})

describe("machines", () => {
  it("a 500-guest lab builds lazily in under 3 s and its machines answer", async () => {
    const t0 = performance.now()
    const lab = buildLab({ seed: 7, guests: 500, timeScale: 0.001 })
    const machines = Machines.make(lab, { hostPublicKey: HOST_KEY.publicKey })
    lab.setMachines(machines)
    const host = machines.host()
    const list = await host.exec("pct list")
    expect(performance.now() - t0).toBeLessThan(3000)
    expect(list.exitCode).toBe(0)
    const running = lab.listGuests("lxc").find((g) => g.status === "running")!
    expect((await host.exec(`pct exec ${running.vmid} -- hostname`)).stdout).toBe(`${running.config["hostname"]}\n`)
  })

  it("/etc/pve guest configs equal the state rendering; a .conf write parses back", async () => {
    const { host, lab } = setup()
    expect(await host.vfs.readFile("/etc/pve/lxc/100.conf")).toBe(lab.renderConfig(lab.getGuest(100)!))
    expect(await host.vfs.readFile("/etc/pve/nodes/pve/qemu-server/200.conf")).toBe(lab.renderConfig(lab.getGuest(200)!))
    const text = lab.renderConfig(lab.getGuest(100)!).replace("cores: 1", "cores: 2")
    await host.vfs.writeFile("/etc/pve/lxc/100.conf", text)
    expect(lab.getGuest(100)!.config["cores"]).toBe("2")
    expect((await host.exec("pct config 100")).stdout).toContain("cores: 2\n")
    expect((await host.exec("stat -c '%a %U:%G' /etc/pve/priv")).stdout).toBe("700 root:www-data\n")
  })
})
