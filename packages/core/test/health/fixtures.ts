import * as Ssh from "@homelab-mcp/core/census/Ssh"
import type * as F from "../census/fixtures.js"

/** A df fixture as `df -B1 --output=source,fstype,target,size,used,avail` prints it on a PVE node. */
export const dfFixture = [
  "Filesystem           Type     Mounted on                1B-blocks         Used        Avail",
  "udev                 devtmpfs /dev                    33554432000            0  33554432000",
  "tmpfs                tmpfs    /run                     6871947673      2097152   6869850521",
  "/dev/mapper/pve-root ext4     /                      100000000000  50000000000  50000000000",
  "tmpfs                tmpfs    /dev/shm                34359738368     46137344  34313601024",
  "tmpfs                tmpfs    /run/lock                   5242880      5242880            0",
  "/dev/fuse            fuse     /etc/pve                  134217728        49152    134168576",
  "tank/media           zfs      /tank/media my films   1000000000000 850000000000 150000000000",
  "proc                 proc     /proc                             0            0            0",
  "overlay              overlay  /var/lib/docker/overlay2/abc/merged 1000 990 10"
].join("\n")

/** One command's scripted answer. */
export type Answer = { exitCode: number | null; stdout: string; stderr?: string }

/** A node shell answering the health probes (df, failed units, apt, lists mtime); `over` replaces answers by argv. */
export const nodeShell = (
  over: ReadonlyArray<readonly [ReadonlyArray<string>, Answer]> = [],
  defaults: { readonly apt?: string; readonly listsMtime?: number } = {}
): F.FakeShell => ({
  events: [],
  commands: new Map<string, Answer>([
    [Ssh.dfArgv.join(" "), { exitCode: 0, stdout: dfFixture }],
    [Ssh.failedUnitsArgv.join(" "), { exitCode: 0, stdout: "" }],
    [Ssh.aptSimulateArgv.join(" "), { exitCode: 0, stdout: defaults.apt ?? "" }],
    [Ssh.aptListsMtimeArgv.join(" "), { exitCode: 0, stdout: `${defaults.listsMtime ?? 1763640000}\n` }],
    ...over.map(([argv, r]) => [argv.join(" "), r] as const)
  ])
})
