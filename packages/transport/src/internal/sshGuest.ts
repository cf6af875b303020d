/**
 * Pure helpers for commands that go through `pct`/`qm`/`pvesh` on the node: recognizing Proxmox's error
 * texts (transport-trust.md §4, sandbox.md §5.1 wording) and parsing probe, stat and agent outputs.
 */
import { constants } from "node:os"
import { GuestAgentUnavailable, GuestNotRunning } from "@homelab-mcp/core/Errors"
import type { GuestFileStat } from "@homelab-mcp/core/capabilities/GuestFiles"

/** A stopped guest as `pct`/`qm` report it (`container '100' not running!`, `VM 200 is not running`, `can only push files to a running CT`). */
export const notRunning = (vmid: number, stderr: string): GuestNotRunning | null =>
  /not running|can only (push|pull) files (to|from) a running/i.test(stderr) &&
    !/guest agent is not running/i.test(stderr)
    ? new GuestNotRunning({ vmid, status: "stopped" })
    : null

/** A missing, disabled or silent QEMU agent. */
export const agentUnavailable = (vmid: number, stderr: string): GuestAgentUnavailable | null => {
  const m = /(QEMU guest agent is not running|No QEMU guest agent configured|guest agent is not running|agent not (running|configured)|not configured)/i.exec(stderr)
  return m ? new GuestAgentUnavailable({ vmid, reason: firstLine(stderr) }) : null
}

/**
 * What a failed open or read says about its path, from the errno text that ends a line (`failed to open
 * file '<p>' (mode: 'r'): No such file or directory`, `failed to read file: Is a directory`, `failed to
 * open <p>: …`): `missing`, `directory`, or `null` for any other errno. A bare "Failed to open file" with
 * no errno is `missing` (transport-trust.md §4.3).
 */
export const fileProblem = (stderr: string): "missing" | "directory" | null => {
  for (const line of stderr.split("\n")) {
    const m = /: (No such file or directory|Is a directory)$/.exec(firstLine(line))
    if (m) return m[1] === "Is a directory" ? "directory" : "missing"
  }
  return stderr.split("\n").some((line) => /^(Agent error: )?Failed to open file\.?$/.test(firstLine(line))) ? "missing" : null
}

/** A missing file (or, for a write, a missing directory on its path) in agent or `pct` texts. */
export const fileMissing = (stderr: string): boolean => fileProblem(stderr) === "missing"

/** The first non-empty line, without Perl's ` at /usr/share/perl5/… line N.` suffix. */
export const firstLine = (s: string): string =>
  (s.split("\n").find((l) => l.trim() !== "") ?? "").replace(/ at \/usr\/share\/perl5\/\S+ line \d+\.?$/, "").trim()

/** What the container probe found. */
export interface PctProbe {
  readonly bash: boolean
  /** `timeout -s TERM -k 5 <s>` works inside the guest. */
  readonly timeout: boolean
  readonly busybox: boolean
  readonly timeoutPresent: boolean
}

/** The constant probe script (caller data never enters it). */
export const PCT_PROBE_SCRIPT =
  "if command -v bash >/dev/null 2>&1; then echo bash=yes; else echo bash=no; fi; " +
  "if command -v timeout >/dev/null 2>&1; then " +
  "if timeout -s TERM -k 5 5 true >/dev/null 2>&1; then echo timeout=yes; else echo timeout=broken; fi; " +
  "if timeout --help 2>&1 | grep -qi busybox; then echo busybox=yes; else echo busybox=no; fi; " +
  "else echo timeout=no; fi"

/** Parses the probe's `key=value` lines; `null` when it printed nothing recognizable. */
export const parsePctProbe = (stdout: string): PctProbe | null => {
  const kv = new Map(
    stdout
      .split("\n")
      .map((l) => l.trim().split("="))
      .filter((p) => p.length === 2)
      .map(([k, v]) => [k!, v!] as const)
  )
  if (!kv.has("bash") || !kv.has("timeout")) return null
  return {
    bash: kv.get("bash") === "yes",
    timeout: kv.get("timeout") === "yes",
    timeoutPresent: kv.get("timeout") !== "no",
    busybox: kv.get("busybox") === "yes"
  }
}

/**
 * The hash in a `sha256sum` line. GNU coreutils escapes a file name holding a backslash or newline and
 * then starts the line with a backslash (`\<hash>  <escaped name>`); BusyBox does not. Anything that is
 * not 64 hex digits comes back as the line's first word, so a mismatch names what was printed.
 */
export const parseSha256Sum = (stdout: string): string => {
  const m = /^\\?([0-9a-f]{64})(?=\s|$)/.exec(stdout)
  return m !== null ? m[1]! : (stdout.split(/\s+/)[0] ?? "")
}

/** Parses `stat -c '%F|%s|%a|%u|%g'`; `null` when malformed. */
export const parseStat = (stdout: string): GuestFileStat | null => {
  const line = stdout.replace(/\n$/, "")
  const m = /^([^|\n]+)\|(\d+)\|([0-7]{1,4})\|(\d+)\|(\d+)$/.exec(line)
  if (!m) return null
  const fileType = m[1]!
  const type = fileType === "regular file" || fileType === "regular empty file"
    ? "file"
    : fileType === "directory"
    ? "directory"
    : fileType === "symbolic link"
    ? "symlink"
    : "other"
  // `%a` drops leading zeros (mode 000 is "0", 044 is "44"): three digits at least, as every mode is written
  return { type, fileType, size: Number(m[2]), mode: m[3]!.padStart(3, "0"), uid: Number(m[4]), gid: Number(m[5]) }
}

/** The `qm guest exec` JSON (Perl-pretty or compact). */
export interface QmExecJson {
  readonly exited: boolean
  readonly exitcode: number | null
  readonly signal: number | null
  readonly outData: string
  readonly errData: string
  readonly outTruncated: boolean
  readonly errTruncated: boolean
  readonly pid: number | null
}

const asBool = (v: unknown) => v === true || v === 1 || v === "1"

/** Parses the JSON `qm guest exec` prints; `null` when it is not that shape. */
export const parseQmExec = (stdout: string): QmExecJson | null => {
  const start = stdout.indexOf("{")
  if (start === -1) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout.slice(start))
  } catch {
    return null
  }
  if (typeof parsed !== "object" || parsed === null) return null
  const o = parsed as Record<string, unknown>
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null)
  if (!("exited" in o) && !("pid" in o)) return null
  return {
    exited: asBool(o["exited"]),
    exitcode: num(o["exitcode"]),
    signal: num(o["signal"]),
    outData: typeof o["out-data"] === "string" ? o["out-data"] : "",
    errData: typeof o["err-data"] === "string" ? o["err-data"] : "",
    outTruncated: asBool(o["out-truncated"]),
    errTruncated: asBool(o["err-truncated"]),
    pid: num(o["pid"])
  }
}

/** `9` -> `SIGKILL` (unknown numbers stay numeric, as `SIG<n>`). */
export const signalName = (n: number): string => {
  const found = Object.entries(constants.signals).find(([, v]) => v === n)
  return found ? found[0] : `SIG${n}`
}

/** The agent file-read JSON: `{content (base64), truncated?, bytes-read?}`. */
export const parseFileRead = (stdout: string): { content: Buffer; truncated: boolean } | null => {
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    return null
  }
  if (typeof parsed !== "object" || parsed === null) return null
  const o = parsed as Record<string, unknown>
  if (typeof o["content"] !== "string") return null
  const b64 = o["content"]
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64.replace(/\s+/g, ""))) return null
  return { content: Buffer.from(b64, "base64"), truncated: asBool(o["truncated"]) }
}
