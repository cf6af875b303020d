/**
 * A real OpenSSH `sshd` on a random loopback port for the transport tests: generated host and client keys,
 * a generated config in a private temp dir, `-D -e -f cfg`, killed when the scope closes. Needs sshd and
 * ssh-keygen (`node scripts/ensure-sshd.mjs` installs them in CI).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { SshOptions } from "../src/Ssh.js"

/** A running test sshd. */
export interface OpenSshd {
  readonly dir: string
  readonly port: number
  readonly user: string
  readonly clientKeyPath: string
  readonly clientKeyPem: string
  /** A passphrase-protected copy of the client key and its passphrase. */
  readonly encryptedKeyPath: string
  readonly passphrase: string
  /** A key that is not authorized. */
  readonly strangerKeyPath: string
  readonly ed25519Fingerprint: string
  readonly ecdsaFingerprint: string
  /** The sshd log so far. */
  readonly log: () => string
  /** Kills every per-connection sshd child (drops all client connections); the listener keeps running. */
  readonly dropConnections: () => void
  /** Stops the listener and its children, then starts a fresh one on the same port with the same keys. */
  readonly restart: () => Promise<void>
  /** TCP connections sshd logged, minus the harness's own readiness probes. */
  readonly clientConnections: () => number
  /** The listener's pid. */
  readonly listenerPid: () => number
  /** Options for `Ssh.layer` pinned to the ed25519 key. */
  readonly options: (extra?: Partial<SshOptions>) => SshOptions
}

const SSHD_PATHS = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]

/** Finds sshd, running `scripts/ensure-sshd.mjs` once (it installs openssh-server as root via apt-get) when missing. */
const findSshd = (): string => {
  const found = SSHD_PATHS.find((p) => fs.existsSync(p))
  if (found !== undefined) return found
  const script = new URL("../../../scripts/ensure-sshd.mjs", import.meta.url).pathname
  execFileSync(process.execPath, [script], { stdio: ["ignore", "inherit", "inherit"] })
  const installed = SSHD_PATHS.find((p) => fs.existsSync(p))
  if (installed === undefined) throw new Error("sshd is not installed and scripts/ensure-sshd.mjs could not provide it")
  return installed
}

const keygen = (file: string, type: string, passphrase = "") =>
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", "homelab-mcp-test", "-f", file], {
    stdio: "ignore"
  })

const fingerprintOfPub = (pub: string): string =>
  execFileSync("ssh-keygen", ["-lf", pub], { encoding: "utf8" }).split(/\s+/)[1]!

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

const waitForPort = async (port: number, proc: ChildProcess, log: () => string, onProbe: () => void) => {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`sshd exited with ${proc.exitCode}: ${log()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1")
      s.once("connect", () => {
        onProbe()
        s.destroy()
        resolve(true)
      })
      s.once("error", () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`)
}

const childrenOf = (pid: number): Array<number> => {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number)
  } catch {
    return []
  }
}

/** Starts the sshd; `extraConfig` lines are appended (e.g. `MaxSessions 2`, or removing the SFTP subsystem). */
export const startSshd = async (extraConfig: ReadonlyArray<string> = [], withSftp = true): Promise<OpenSshd & { stop: () => void }> => {
  const SSHD = findSshd()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hmcp-sshd-"))
  keygen(path.join(dir, "host_ed25519"), "ed25519")
  keygen(path.join(dir, "host_ecdsa"), "ecdsa")
  keygen(path.join(dir, "client"), "ed25519")
  keygen(path.join(dir, "stranger"), "ed25519")
  fs.copyFileSync(path.join(dir, "client"), path.join(dir, "client_enc"))
  fs.chmodSync(path.join(dir, "client_enc"), 0o600)
  const passphrase = "correct horse battery staple"
  execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", passphrase, "-f", path.join(dir, "client_enc")], { stdio: "ignore" })
  fs.writeFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(path.join(dir, "client.pub")))
  const port = await freePort()
  const user = os.userInfo().username
  const cfg = path.join(dir, "sshd_config")
  fs.writeFileSync(
    cfg,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_ed25519`,
      `HostKey ${dir}/host_ecdsa`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "StrictModes no",
      "LogLevel VERBOSE",
      ...(withSftp ? ["Subsystem sftp internal-sftp"] : []),
      ...extraConfig
    ].join("\n") + "\n"
  )
  if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
  let logText = ""
  let probes = 0
  const connectionLines = () => (logText.match(/Connection from 127\.0\.0\.1/g) ?? []).length
  let proc: ChildProcess
  const launch = async () => {
    const linesBefore = connectionLines()
    proc = spawn(SSHD, ["-D", "-e", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] })
    proc.stderr!.on("data", (d: Buffer) => {
      logText += d.toString("utf8")
    })
    await waitForPort(port, proc, () => logText, () => probes++)
    // Let sshd log the probe's connection so later counts are not skewed by a late line.
    const deadline = Date.now() + 3_000
    while (connectionLines() < linesBefore + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  }
  const killAll = (signal: NodeJS.Signals) => {
    const pid = proc.pid
    if (pid === undefined) return
    for (const child of childrenOf(pid)) {
      try {
        process.kill(child, signal)
      } catch {
        // already gone
      }
    }
  }
  const stopListener = async () => {
    killAll("SIGKILL")
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once("exit", r))
      proc.kill("SIGTERM")
      await exited
    }
  }
  await launch()
  const clientKeyPem = fs.readFileSync(path.join(dir, "client"), "utf8")
  const ed25519Fingerprint = fingerprintOfPub(path.join(dir, "host_ed25519.pub"))
  const ecdsaFingerprint = fingerprintOfPub(path.join(dir, "host_ecdsa.pub"))
  return {
    dir,
    port,
    user,
    clientKeyPath: path.join(dir, "client"),
    clientKeyPem,
    encryptedKeyPath: path.join(dir, "client_enc"),
    passphrase,
    strangerKeyPath: path.join(dir, "stranger"),
    ed25519Fingerprint,
    ecdsaFingerprint,
    log: () => logText,
    listenerPid: () => proc.pid!,
    clientConnections: () => connectionLines() - probes,
    dropConnections: () => killAll("SIGKILL"),
    restart: async () => {
      await stopListener()
      await launch()
    },
    stop: () => {
      killAll("SIGKILL")
      try {
        proc.kill("SIGKILL")
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true })
    },
    options: (extra = {}) => ({
      host: "127.0.0.1",
      port,
      user,
      privateKey: Redacted.make(clientKeyPem),
      hostKeyFingerprint: ed25519Fingerprint,
      connectTimeoutMs: 5_000,
      keepaliveMs: 2_000,
      reconnectDelayMs: 50,
      commandTimeoutGraceMs: 2_000,
      nodeTempDir: dir,
      warn: () => {},
      ...extra
    })
  }
}

/** The sshd as a scoped resource (killed and its temp dir removed when the scope closes). */
export const sshdResource = (extraConfig: ReadonlyArray<string> = [], withSftp = true) =>
  Effect.acquireRelease(
    Effect.promise(() => startSshd(extraConfig, withSftp)),
    (s) => Effect.sync(() => s.stop())
  )
