/**
 * The SSH server over real loopback sockets (sandbox.md §5): ed25519 host key and its `SHA256:`
 * fingerprint, key auth from the host's authorized_keys (a symlink into /etc/pve/priv), optional
 * password auth, exec with stdin until EOF and exit status/signal, channel limit, and the SFTP v3
 * subsystem with OpenSSH's extensions and status codes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { gunzipSync } from "node:zlib"
import * as ssh2 from "ssh2"
import { buildLab } from "../src/lab/Lab.js"
import * as Machines from "../src/machines/Machines.js"
import * as HostKey from "../src/ssh/HostKey.js"
import * as SshFaults from "../src/ssh/SshFaults.js"
import * as SshServer from "../src/ssh/SshServer.js"
import { call, code, connect, connected, done, exec, sftp } from "./ssh-support.js"

const direct = (options: SshServer.Options & { clock?: "manual"; faults?: Partial<SshFaults.SshFaults> } = {}) =>
  Effect.gen(function* () {
    const lab = buildLab({ seed: 1, timeScale: 0.001, ...(options.clock ? { clock: options.clock } : {}) })
    const hostKey = HostKey.generate("root@pve")
    const machines = Machines.make(lab, { hostPublicKey: hostKey.publicKey })
    lab.setMachines(machines)
    const server = yield* SshServer.start(
      { host: () => machines.host(), faults: { ...SshFaults.none, ...options.faults } },
      { hostKey: hostKey.privateKey, ...options }
    )
    machines.authorizeKey(server.clientPublicKey)
    return { lab, machines, server, target: { host: server.host, port: server.port, privateKey: server.clientPrivateKeyPem } }
  })

describe("SSH server", () => {
  it.scopedLive("listens on loopback and presents the ed25519 key whose fingerprint ssh-keygen -lf prints", () =>
    Effect.gen(function* () {
      const { server, target } = yield* direct()
      expect(server.host).toBe("127.0.0.1")
      expect(server.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
      const conn = yield* connected(target)
      expect(conn.presented).toBe(server.hostKeyFingerprint)
      const r = yield* Effect.promise(() => exec(conn.client, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))
      expect(r).toMatchObject({ stdout: `256 ${server.hostKeyFingerprint} root@pve (ED25519)\n`, code: 0 })
      expect(server.hostPublicKey.startsWith("ssh-ed25519 ")).toBe(true)
    }))

  it.scopedLive("authenticates root by key from authorized_keys only; other keys and users are refused", () =>
    Effect.gen(function* () {
      const { machines, server, target } = yield* direct()
      const stranger = HostKey.generate("stranger")
      const refused = yield* Effect.promise(() => connect({ ...target, privateKey: stranger.privateKey }).then(() => "connected", (e: Error & { level?: string }) => e.level ?? e.message))
      expect(refused).toBe("client-authentication")
      const wrongUser = yield* Effect.promise(() => connect({ ...target, username: "admin" }).then(() => "connected", (e: Error & { level?: string }) => e.level ?? e.message))
      expect(wrongUser).toBe("client-authentication")
      machines.authorizeKey(stranger.publicKey)
      const conn = yield* Effect.promise(() => connect({ ...target, privateKey: stranger.privateKey }))
      const keys = yield* Effect.promise(() => exec(conn.client, "cat /root/.ssh/authorized_keys"))
      expect(keys.stdout).toContain(server.clientPublicKey)
      expect(keys.stdout).toContain(stranger.publicKey)
      conn.client.end()
      machines.revokeKey(stranger.publicKey)
      const again = yield* Effect.promise(() => connect({ ...target, privateKey: stranger.privateKey }).then(() => "connected", (e: Error & { level?: string }) => e.level ?? ""))
      expect(again).toBe("client-authentication")
    }))

  it.scopedLive("password auth only when enabled", () =>
    Effect.gen(function* () {
      const withPw = yield* direct({ password: "s3cret" })
      const ok = yield* Effect.promise(() => connect({ host: withPw.server.host, port: withPw.server.port, password: "s3cret" }))
      expect((yield* Effect.promise(() => exec(ok.client, "whoami"))).stdout).toBe("root\n")
      ok.client.end()
      const bad = yield* Effect.promise(() => connect({ host: withPw.server.host, port: withPw.server.port, password: "nope" }).then(() => "connected", (e: Error & { level?: string }) => e.level ?? ""))
      expect(bad).toBe("client-authentication")
      const noPw = yield* direct()
      const refused = yield* Effect.promise(() => connect({ host: noPw.server.host, port: noPw.server.port, password: "s3cret" }).then(() => "connected", (e: Error & { level?: string }) => e.level ?? ""))
      expect(refused).toBe("client-authentication")
    }))

  it.scopedLive("exec returns stdout, stderr and the exit status; stdin is read until EOF (bash -s); env is honoured", () =>
    Effect.gen(function* () {
      const { target } = yield* direct()
      const { client } = yield* connected(target)
      expect(yield* Effect.promise(() => exec(client, "echo out; echo err >&2; exit 3"))).toMatchObject({ stdout: "out\n", stderr: "err\n", code: 3, signal: null })
      const script = "echo from-script\nhostname\nexit 0\n"
      expect(yield* Effect.promise(() => exec(client, "bash -s", { stdin: script }))).toMatchObject({ stdout: "from-script\npve\n", code: 0 })
      expect(yield* Effect.promise(() => exec(client, "echo $HOME $USER $LANG"))).toMatchObject({ stdout: "/root root C.UTF-8\n", code: 0 })
      expect(yield* Effect.promise(() => exec(client, "echo $LANG", { env: { LANG: "de_DE.UTF-8" } }))).toMatchObject({ stdout: "de_DE.UTF-8\n" })
      const bin = Buffer.from([0, 1, 2, 255, 254])
      expect((yield* Effect.promise(() => exec(client, "cat > /tmp/bin && sha256sum /tmp/bin", { stdin: bin }))).stdout).toBe(`${createHash("sha256").update(bin).digest("hex")}  /tmp/bin\n`)
      const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) % 256))
      yield* Effect.promise(() => exec(client, "cat > /tmp/blob", { stdin: binary }))
      expect((yield* Effect.promise(() => exec(client, "cat /tmp/blob"))).stdoutBytes.equals(binary)).toBe(true)
      const gz = yield* Effect.promise(() => exec(client, "gzip -c /etc/hosts"))
      expect(gunzipSync(gz.stdoutBytes).toString()).toBe(yield* Effect.promise(() => exec(client, "cat /etc/hosts").then((r) => r.stdout)))
      const utf8 = "grüße ✓\n"
      expect((yield* Effect.promise(() => exec(client, "cat > /tmp/u && cat /tmp/u", { stdin: utf8 }))).stdoutBytes.equals(Buffer.from(utf8))).toBe(true)
      const noEof = yield* Effect.promise(() => exec(client, "echo without-eof", { keepStdinOpen: true }))
      expect(noEof).toMatchObject({ stdout: "without-eof\n", code: 0 })
    }))

  it.scopedLive("a client signal aborts the command and reports exit-signal; task effects already started complete", () =>
    Effect.gen(function* () {
      const { target, lab } = yield* direct({ clock: "manual" })
      const { client } = yield* connected(target)
      const r = yield* Effect.promise(() =>
        // ssh2's client can only signal before it sent EOF, so stdin stays open here
        exec(client, "pct start 9001", {
          keepStdinOpen: true,
          onStream: (s) => setTimeout(() => s.signal("TERM"), 600)
        })
      )
      expect(r.signal).toBe("SIGTERM")
      expect(r.code).toBeNull()
      expect(lab.listTasks()[0]!.type).toBe("vzstart")
      expect(lab.getGuest(9001)!.status).toBe("stopped")
      lab.advance(5)
      expect(lab.getGuest(9001)!.status).toBe("running")
    }))

  it.scopedLive("beyond 10 session channels per connection, channel opens fail", () =>
    Effect.gen(function* () {
      const { target, lab } = yield* direct({ clock: "manual" })
      const { client } = yield* connected(target)
      const streams: Array<ssh2.ClientChannel> = []
      for (let i = 0; i < 10; i++) {
        streams.push(yield* Effect.promise(() => new Promise<ssh2.ClientChannel>((resolve, reject) => client.exec("sleep 100", (e, s) => (e ? reject(e) : resolve(s.end() as ssh2.ClientChannel))))))
      }
      const eleventh = yield* Effect.promise(() => new Promise<string>((resolve) => client.exec("true", (e) => resolve(e ? e.message : "opened"))))
      expect(eleventh).toMatch(/open failure|Channel open failure/i)
      const done = Promise.all(streams.map((s) => new Promise((r) => s.on("close", r).resume())))
      lab.advance(200)
      yield* Effect.promise(() => done)
      expect((yield* Effect.promise(() => exec(client, "echo again"))).stdout).toBe("again\n")
    }))
})

describe("SFTP subsystem", () => {
  it.scopedLive("VERSION 3 advertises posix-rename and fsync; read/write/stat see the host machine's files", () =>
    Effect.gen(function* () {
      const { target, machines } = yield* direct()
      const { client } = yield* connected(target)
      const s = yield* Effect.promise(() => sftp(client))
      const ext = (s as unknown as { _extensions: Record<string, string> })._extensions
      expect(ext["posix-rename@openssh.com"]).toBe("1")
      expect(ext["fsync@openssh.com"]).toBe("1")
      const hosts = yield* Effect.promise(() => call<Buffer>((cb) => s.readFile("/etc/hosts", cb)))
      expect(hosts.toString()).toBe(yield* Effect.promise(() => machines.host().vfs.readFile("/etc/hosts")))
      const st = yield* Effect.promise(() => call<ssh2.Stats>((cb) => s.stat("/etc/pve/storage.cfg", cb)))
      expect({ uid: st.uid, gid: st.gid, mode: st.mode, file: st.isFile() }).toEqual({ uid: 0, gid: 33, mode: 0o100640, file: true })
      const dir = yield* Effect.promise(() => call<ssh2.Stats>((cb) => s.stat("/etc", cb)))
      expect(dir.isDirectory()).toBe(true)
      const link = yield* Effect.promise(() => call<ssh2.Stats>((cb) => s.lstat("/root/.ssh/authorized_keys", cb)))
      expect(link.isSymbolicLink()).toBe(true)
      expect(yield* Effect.promise(() => call<string>((cb) => s.readlink("/root/.ssh/authorized_keys", cb)))).toBe("/etc/pve/priv/authorized_keys")
      const data = Buffer.alloc(300_000, 7)
      yield* Effect.promise(() => call<void>((cb) => s.writeFile("/tmp/up.bin", data, { mode: 0o600 }, cb)))
      const host = machines.host()
      expect(Buffer.from(yield* Effect.promise(() => host.vfs.readFileBuffer("/tmp/up.bin"))).equals(data)).toBe(true)
      expect((yield* Effect.promise(() => host.exec("stat -c '%a %s' /tmp/up.bin"))).stdout).toBe("600 300000\n")
      expect((yield* Effect.promise(() => host.exec("sha256sum /tmp/up.bin"))).stdout).toBe(`${createHash("sha256").update(data).digest("hex")}  /tmp/up.bin\n`)
    }))

  it.scopedLive("realpath, readdir long names, mkdir/rmdir, rename semantics, posix-rename, fsync, setstat, symlink, remove", () =>
    Effect.gen(function* () {
      const { target, machines } = yield* direct()
      const { client } = yield* connected(target)
      const s = yield* Effect.promise(() => sftp(client))
      expect(yield* Effect.promise(() => call<string>((cb) => s.realpath(".", cb)))).toBe("/root")
      expect(yield* Effect.promise(() => call<string>((cb) => s.realpath("/etc/pve/lxc/100.conf", cb)))).toBe("/etc/pve/nodes/pve/lxc/100.conf")
      expect(yield* Effect.promise(() => call<string>((cb) => s.realpath("/tmp/new-file", cb)))).toBe("/tmp/new-file")
      expect(yield* Effect.promise(() => code(call((cb) => s.realpath("/nope/new-file", cb))))).toBe(2)
      const list = yield* Effect.promise(() => call<Array<ssh2.FileEntry>>((cb) => s.readdir("/etc/pve", cb)))
      const storage = list.find((e) => e.filename === "storage.cfg")!
      expect(storage.longname).toMatch(/^-rw-r----- +1 root +www-data +\d+ [A-Z][a-z]{2} [ \d]\d [ \d]\d:\d\d storage\.cfg$/)
      expect(list.some((e) => e.filename === "lxc")).toBe(true)
      expect(yield* Effect.promise(() => code(done((cb) => s.mkdir("/tmp/d", cb))))).toBe("ok")
      expect(yield* Effect.promise(() => code(done((cb) => s.mkdir("/tmp/d", cb))))).toBe(4)
      yield* Effect.promise(() => call<void>((cb) => s.writeFile("/tmp/d/a", "A", cb)))
      yield* Effect.promise(() => call<void>((cb) => s.writeFile("/tmp/d/b", "B", cb)))
      expect(yield* Effect.promise(() => code(done((cb) => s.rmdir("/tmp/d", cb))))).toBe(4)
      expect(yield* Effect.promise(() => code(done((cb) => s.rename("/tmp/d/a", "/tmp/d/b", cb))))).toBe(4)
      expect(yield* Effect.promise(() => code(done((cb) => s.ext_openssh_rename("/tmp/d/a", "/tmp/d/b", cb))))).toBe("ok")
      expect((yield* Effect.promise(() => call<Buffer>((cb) => s.readFile("/tmp/d/b", cb)))).toString()).toBe("A")
      expect(yield* Effect.promise(() => code(done((cb) => s.rename("/tmp/d/b", "/tmp/d/c", cb))))).toBe("ok")
      const handle = yield* Effect.promise(() => call<Buffer>((cb) => s.open("/tmp/d/c", "r+", cb)))
      yield* Effect.promise(() => call<void>((cb) => s.write(handle, Buffer.from("Z"), 0, 1, 0, (e) => cb(e, undefined))))
      yield* Effect.promise(() => call<void>((cb) => s.ext_openssh_fsync(handle, (e) => cb(e, undefined))))
      expect(yield* Effect.promise(() => machines.host().vfs.readFile("/tmp/d/c"))).toBe("Z")
      yield* Effect.promise(() => call<void>((cb) => s.fsetstat(handle, { uid: 33, gid: 33, mode: 0o640 }, (e) => cb(e, undefined))))
      yield* Effect.promise(() => call<void>((cb) => s.close(handle, (e) => cb(e, undefined))))
      expect((yield* Effect.promise(() => machines.host().exec("stat -c '%a %u %g' /tmp/d/c"))).stdout).toBe("640 33 33\n")
      yield* Effect.promise(() => call<void>((cb) => s.setstat("/tmp/d/c", { uid: 0, gid: 0 }, (e) => cb(e, undefined))))
      expect((yield* Effect.promise(() => machines.host().exec("stat -c '%u %g' /tmp/d/c"))).stdout).toBe("0 0\n")
      yield* Effect.promise(() => call<void>((cb) => s.symlink("/tmp/d/c", "/tmp/d/link", (e) => cb(e, undefined))))
      expect((yield* Effect.promise(() => machines.host().exec("readlink /tmp/d/link"))).stdout).toBe("/tmp/d/c\n")
      expect(yield* Effect.promise(() => code(done((cb) => s.unlink("/tmp/d/nope", cb))))).toBe(2)
      expect(yield* Effect.promise(() => code(call((cb) => s.open("/nope/x", "w", cb))))).toBe(2)
      expect(yield* Effect.promise(() => code(call((cb) => s.open("/tmp/absent", "r", cb))))).toBe(2)
      for (const f of ["/tmp/d/c", "/tmp/d/link"]) yield* Effect.promise(() => call<void>((cb) => s.unlink(f, (e) => cb(e, undefined))))
      expect(yield* Effect.promise(() => code(done((cb) => s.rmdir("/tmp/d", cb))))).toBe("ok")
      const bigRead = yield* Effect.promise(() => call<Buffer>((cb) => s.readFile("/etc/pve/user.cfg", cb)))
      expect(bigRead.toString()).toBe(yield* Effect.promise(() => machines.host().vfs.readFile("/etc/pve/user.cfg")))
    }))

  it.scopedLive("flags: sftp off refuses the subsystem; sftpExtensions none advertises nothing", () =>
    Effect.gen(function* () {
      const off = yield* direct({ faults: { sftpEnabled: () => false } })
      const c1 = yield* connected(off.target)
      const refused = yield* Effect.promise(() => sftp(c1.client).then(() => "opened", (e: Error) => e.message))
      expect(refused).not.toBe("opened")
      expect((yield* Effect.promise(() => exec(c1.client, "echo exec-still-works"))).stdout).toBe("exec-still-works\n")
      const bare = yield* direct({ faults: { sftpExtensions: () => false } })
      const c2 = yield* connected(bare.target)
      const s = yield* Effect.promise(() => sftp(c2.client))
      expect(Object.keys((s as unknown as { _extensions: Record<string, string> })._extensions)).toEqual([])
      const r = yield* Effect.promise(() => code(done((cb) => s.ext_openssh_rename("/tmp/a", "/tmp/b", cb))))
      expect(r).not.toBe("ok")
    }))

  it.scopedLive("pct push/pull round trip through SFTP and exec (the product's container write and read)", () =>
    Effect.gen(function* () {
      const { target } = yield* direct()
      const { client } = yield* connected(target)
      const s = yield* Effect.promise(() => sftp(client))
      const content = "127.0.0.1 localhost\n10.9.8.7 pushed.example\n"
      const tmp = (yield* Effect.promise(() => exec(client, "mktemp -p /tmp mcp.XXXXXXXX"))).stdout.trim()
      yield* Effect.promise(() => call<void>((cb) => s.writeFile(tmp, content, cb)))
      const push = yield* Effect.promise(() => exec(client, `pct push 101 ${tmp} /etc/.hosts.mcp-1a2b --perms 644 --user 0 --group 0`))
      expect(push).toMatchObject({ code: 0, stderr: "" })
      expect((yield* Effect.promise(() => exec(client, "pct exec 101 -- mv -f -- /etc/.hosts.mcp-1a2b /etc/hosts"))).code).toBe(0)
      const sum = yield* Effect.promise(() => exec(client, "pct exec 101 -- sha256sum -- /etc/hosts"))
      expect(sum.stdout).toBe(`${createHash("sha256").update(content).digest("hex")}  /etc/hosts\n`)
      expect((yield* Effect.promise(() => exec(client, "pct exec 101 -- cat /etc/hosts"))).stdout).toBe(content)
      const stat = yield* Effect.promise(() => exec(client, "pct exec 101 -- stat -c '%F|%s|%a|%u|%g' -- /etc/hosts"))
      expect(stat.stdout).toBe(`regular file|${Buffer.byteLength(content)}|644|0|0\n`)
      const back = (yield* Effect.promise(() => exec(client, "mktemp -p /tmp mcp.XXXXXXXX"))).stdout.trim()
      expect((yield* Effect.promise(() => exec(client, `pct pull 101 /etc/hosts ${back}`))).code).toBe(0)
      const st = yield* Effect.promise(() => call<ssh2.Stats>((cb) => s.stat(back, cb)))
      expect(st.size).toBe(Buffer.byteLength(content))
      const handle = yield* Effect.promise(() => call<Buffer>((cb) => s.open(back, "r", cb)))
      const buf = Buffer.alloc(st.size)
      const n = yield* Effect.promise(() => new Promise<number>((resolve, reject) => s.read(handle, buf, 0, st.size, 0, (e, bytes) => (e ? reject(e) : resolve(bytes)))))
      expect(n).toBe(st.size)
      expect(buf.toString()).toBe(content)
      const eof = yield* Effect.promise(() => new Promise<string>((resolve) => s.read(handle, Buffer.alloc(10), 0, 10, st.size, (e, n) => resolve(e ? `error ${String((e as { code?: number }).code)}` : `bytes ${n}`))))
      expect(eof).toBe("bytes 0")
      yield* Effect.promise(() => call<void>((cb) => s.close(handle, (e) => cb(e, undefined))))
      expect((yield* Effect.promise(() => exec(client, `rm -f -- ${tmp} ${back}; ls ${tmp}`))).code).not.toBe(0)
    }))
})
