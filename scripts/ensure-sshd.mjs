#!/usr/bin/env node
// Makes sure a real OpenSSH server (sshd) and ssh-keygen are available for the transport's OpenSSH tests
// (packages/transport/test/OpenSsh*.test.ts). Installs `openssh-server` with apt-get when it is missing and
// this runs as root with apt-get available; otherwise exits non-zero with a clear message. Progress goes to
// stderr; nothing is printed on stdout. The tests start their own sshd on a random loopback port; this
// script never starts or configures the system's sshd service.
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"

const log = (msg) => process.stderr.write(`ensure-sshd: ${msg}\n`)

const SSHD_CANDIDATES = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]

const findSshd = () => SSHD_CANDIDATES.find((p) => existsSync(p)) ?? null
const hasKeygen = () => spawnSync("ssh-keygen", ["-?"], { stdio: "ignore" }).error === undefined
const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0
const hasAptGet = () => spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0

const fail = (msg) => {
  log(`ERROR: ${msg}`)
  process.exit(1)
}

if (process.platform !== "linux") {
  fail(`the OpenSSH tests need Linux (this is ${process.platform}); run them in the Linux CI container`)
}

let sshd = findSshd()
if (sshd !== null && hasKeygen()) {
  log(`found ${sshd}`)
} else {
  if (!isRoot()) {
    fail("sshd or ssh-keygen is missing and this is not root; install openssh-server (apt-get install -y openssh-server) and retry")
  }
  if (!hasAptGet()) {
    fail("sshd or ssh-keygen is missing and apt-get is not available; install OpenSSH's server package and retry")
  }
  log("sshd is missing: running apt-get update && apt-get install -y --no-install-recommends openssh-server")
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    execFileSync("apt-get", ["update"], { stdio: ["ignore", process.stderr, process.stderr], env })
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "openssh-server"], {
      stdio: ["ignore", process.stderr, process.stderr],
      env
    })
  } catch (e) {
    fail(`apt-get could not install openssh-server (${e instanceof Error ? e.message : String(e)})`)
  }
  sshd = findSshd()
  if (sshd === null || !hasKeygen()) fail("openssh-server was installed but sshd or ssh-keygen is still missing")
  log(`installed ${sshd}`)
}

// sshd refuses to start without its privilege separation directory.
if (isRoot() && !existsSync("/run/sshd")) {
  log("creating /run/sshd (privilege separation directory)")
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
}

const version = spawnSync(sshd, ["-V"], { encoding: "utf8" })
log(`ready: ${(version.stderr || version.stdout || "").trim().split("\n")[0]}`)
if (!isRoot()) {
  log("note: not root; the OpenSSH tests log in as the current user and need a writable temp dir")
}
