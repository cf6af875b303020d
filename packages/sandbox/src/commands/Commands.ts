/**
 * Which commands each machine gets beyond the file primitives and system commands: the host has the
 * PVE CLI (`pct qm pvesh pveversion pvesm pveum vzdump zpool apt-get`) plus `journalctl`/`systemctl`;
 * Debian guests have `journalctl`, `systemctl`, `apt-get -s` and, on docker hosts, `docker`; Alpine
 * guests have none of them (127); the tailscale container has `tailscale`.
 */
import type { CustomCommand } from "just-bash"
import type { LabState } from "../state/LabState.js"
import type { DockerContainerSpec, Guest } from "../state/types.js"
import type { Machine } from "../machines/Machine.js"
import type { Machines } from "../machines/Machines.js"
import * as Curl from "./Curl.js"
import * as Docker from "./Docker.js"
import * as NodeCommands from "./NodeCommands.js"
import * as Pct from "./Pct.js"
import * as Pvesh from "./Pvesh.js"
import * as Qm from "./Qm.js"
import * as ServiceCommands from "./ServiceCommands.js"

/** Options of the PVE CLI. */
export interface CommandOptions {
  /** API core for `pvesh` paths the CLI does not serve itself. */
  readonly api?: Pvesh.ApiCore
}

/** The extra commands of `machine` (use as `Machines.Options.commands`). */
export const forMachine =
  (lab: LabState, options: CommandOptions = {}) =>
  (machine: Machine, machines: Machines): ReadonlyArray<CustomCommand> => {
    if (machine.kind === "host") {
      const src = ServiceCommands.hostSource(lab)
      return [
        Pct.command(lab, machines, machine),
        Qm.command(lab, machines),
        Pvesh.command(lab, machines, options.api),
        ...NodeCommands.commands(lab),
        ServiceCommands.journalctl(src, machine.time),
        ServiceCommands.systemctl(src),
        Curl.command(lab, machines, machine)
      ]
    }
    if (machine.kind === "debian") {
      const g = machine.extras.get("guest") as Guest | undefined
      if (!g) return []
      const src = ServiceCommands.guestSource(lab, machine, g.vmid)
      return [
        ServiceCommands.journalctl(src, machine.time),
        ServiceCommands.systemctl(src),
        NodeCommands.guestAptGet(),
        Curl.command(lab, machines, machine),
        ...(g.docker.length > 0 ? [Docker.command(lab, machines, g, machine)] : [])
      ]
    }
    const spec = machine.extras.get("container") as DockerContainerSpec | undefined
    if (spec && /tailscale/.test(spec.image)) return [Docker.tailscale(lab, spec.name, machine.id)]
    if (machine.kind === "docker-full") return [Curl.command(lab, machines, machine)]
    return []
  }
