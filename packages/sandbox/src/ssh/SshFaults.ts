/**
 * The SSH side's view of fault rules (sandbox.md §7): what the server asks for each connection, exec
 * and SFTP operation. The rule store itself (matching, seeded draws) lives in `src/faults/`; `Sandbox`
 * adapts it to this port. `none` injects nothing.
 */

/** Decision for one incoming connection (handshake target). */
export interface ConnectionDecision {
  /** Present the impostor host key instead of the node's key. */
  readonly impostorHostKey?: boolean
  /** Refuse every authentication attempt. */
  readonly authFail?: boolean
  /** Close the socket before the SSH banner. */
  readonly drop?: boolean
  /** Max session channels for this connection (OpenSSH MaxSessions = 10). */
  readonly sessionLimit?: number
}

/** Decision for one exec (matched on the command line). */
export interface CommandDecision {
  /** Virtual milliseconds to wait before running. */
  readonly latencyMs?: number
  /** Never answer (until the client closes or signals the channel). */
  readonly hang?: boolean
  /** Close the connection after this many stdout bytes. */
  readonly dropAfterBytes?: number
  /** Replace the result (the command does not run). */
  readonly exit?: { readonly code: number; readonly stdout?: string; readonly stderr?: string }
}

/** Decision for one SFTP read or write. */
export interface SftpDecision {
  readonly latencyMs?: number
  readonly hang?: boolean
  /** Close the connection once this many bytes were transferred on the handle. */
  readonly dropAfterBytes?: number
}

/** Port the SSH server queries; every method is called once per matching event. */
export interface SshFaults {
  readonly connection: () => ConnectionDecision
  readonly command: (command: string) => CommandDecision
  readonly sftp: (op: "read" | "write", path: string) => SftpDecision
  /** Flag `sftp: off` (subsystem refused). */
  readonly sftpEnabled: () => boolean
  /** Flag `sftpExtensions` (`none` drops posix-rename/fsync from VERSION). */
  readonly sftpExtensions: () => boolean
}

/** No faults, SFTP on with extensions. */
export const none: SshFaults = {
  connection: () => ({}),
  command: () => ({}),
  sftp: () => ({}),
  sftpEnabled: () => true,
  sftpExtensions: () => true
}
