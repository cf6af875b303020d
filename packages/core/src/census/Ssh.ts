/**
 * The SSH probes of the census and health check (companion and root; census-health.md §1.1, §2.1):
 * pure parsers plus the exact argv each probe sends through `NodeShell`. Read-only: `apt-get -s` with
 * `Debug::NoLocking`, never `apt update`.
 */
import * as Effect from "effect/Effect"
import type { ToolError } from "../Errors.js"
import { CommandFailed } from "../Errors.js"
import type { NodeShell, NodeShellError } from "../capabilities/NodeShell.js"
import type { ServiceItem, Tailscale } from "./Document.js"

/** `systemctl list-units --failed --no-legend --plain`: first token per line. */
export const parseFailedUnits = (output: string): Array<string> =>
  output
    .split("\n")
    .map((l) => l.replace(/^[\s●*]+/, "").split(/\s+/)[0] ?? "")
    .filter((u) => u.length > 0)
    .sort()

/** `docker ps --format '{{.Names}}\t{{.Image}}\t{{.Status}}'` → roster sorted by name. */
export const parseDockerPs = (output: string): Array<{ name: string; image: string; status: string }> =>
  output
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => {
      const [name = "", image = "", ...status] = l.split("\t")
      return { name: name.trim(), image: image.trim(), status: status.join("\t").trim() }
    })
    .filter((r) => r.name.length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

/** The in-container script (run with `sh`, not `bash`): markers separate the two listings. */
export const containerScript =
  "if command -v systemctl >/dev/null 2>&1; then echo '@@units'; systemctl list-units --failed --no-legend --plain 2>/dev/null; " +
  "else echo '@@nosystemd'; fi; " +
  "if command -v docker >/dev/null 2>&1; then echo '@@docker'; docker ps --format '{{.Names}}\t{{.Image}}\t{{.Status}}' 2>/dev/null; " +
  "else echo '@@nodocker'; fi"

/** The argv of the services probe for one container. */
export const containerArgv = (vmid: number): ReadonlyArray<string> => ["pct", "exec", String(vmid), "--", "sh", "-c", containerScript]

/** Parses the container script's output into a services entry. */
export const parseContainerOutput = (vmid: number, output: string): ServiceItem => {
  const lines = output.split("\n")
  const units: Array<string> = []
  const docker: Array<string> = []
  const notes: Array<string> = []
  let mode: "none" | "units" | "docker" = "none"
  for (const line of lines) {
    const t = line.trim()
    if (t === "@@units") mode = "units"
    else if (t === "@@docker") mode = "docker"
    else if (t === "@@nosystemd") {
      notes.push("no systemd")
      mode = "none"
    } else if (t === "@@nodocker") {
      notes.push("no docker")
      mode = "none"
    } else if (mode === "units") units.push(line)
    else if (mode === "docker") docker.push(line)
  }
  return {
    vmid,
    failedUnits: parseFailedUnits(units.join("\n")),
    docker: parseDockerPs(docker.join("\n")),
    ...(notes.length > 0 ? { note: notes.join("; ") } : {})
  }
}

/** `tailscale status --json` → the census fields; `null` when it is not the expected JSON. */
export const parseTailscaleStatus = (json: string): Omit<Tailscale, "scope"> | null => {
  try {
    const v = JSON.parse(json) as {
      Self?: { DNSName?: string; HostName?: string; Online?: boolean; TailscaleIPs?: Array<string> }
      Peer?: Record<string, unknown> | null
      TailscaleIPs?: Array<string> | null
    }
    if (typeof v !== "object" || v === null || v.Self === undefined) return null
    const dns = v.Self.DNSName?.replace(/\.$/, "")
    const self = dns !== undefined && dns !== "" ? dns : v.Self.HostName
    return {
      ...(self !== undefined ? { self } : {}),
      online: v.Self.Online === true,
      peerCount: v.Peer ? Object.keys(v.Peer).length : 0,
      tailnetIPs: [...(v.TailscaleIPs ?? v.Self.TailscaleIPs ?? [])]
    }
  } catch {
    return null
  }
}

/** The argv of `apt-get -s` (simulation, no lock, never a refresh). */
export const aptSimulateArgv: ReadonlyArray<string> = ["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"]
/** The argv reading the package lists' mtime. */
export const aptListsMtimeArgv: ReadonlyArray<string> = ["stat", "-c", "%Y", "/var/lib/apt/lists"]
/** The argv of the host's failed units. */
export const failedUnitsArgv: ReadonlyArray<string> = ["systemctl", "list-units", "--failed", "--no-legend", "--plain"]
/** The argv of the host's filesystem usage. */
export const dfArgv: ReadonlyArray<string> = ["df", "-B1", "--output=source,fstype,target,size,used,avail"]

/** stdout of a command that must exit 0. */
export const output = (shell: NodeShell.Service, argv: ReadonlyArray<string>, timeoutMs: number): Effect.Effect<string, ToolError> =>
  shell.output(argv, { timeoutMs }) as Effect.Effect<string, NodeShellError | CommandFailed>

/** The first argv words, for error texts. */
const commandName = (argv: ReadonlyArray<string>) => argv.slice(0, 3).join(" ")

/** stdout of a command whose non-zero exit still prints useful output (df exits 1 when one mount is unreadable). */
export const outputLenient = (shell: NodeShell.Service, argv: ReadonlyArray<string>, timeoutMs: number): Effect.Effect<string, ToolError> =>
  Effect.flatMap(shell.exec(argv, { timeoutMs }), (r) =>
    r.exitCode === 0 || r.stdout.trim().length > 0
      ? Effect.succeed(r.stdout)
      : Effect.fail(new CommandFailed({ command: commandName(argv), exitCode: r.exitCode, stderr: r.stderr.slice(0, 500) }))
  )
