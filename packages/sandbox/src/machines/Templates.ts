/**
 * Seeded file content of machines (sandbox.md §3.4): the host's Debian 13 userland around `/etc/pve`,
 * guests from OS/role templates (`/etc/hosts`, `os-release`, units, app configs, logs, compose projects
 * in `/opt/stacks/<p>/` with `.env` 0600) and docker container filesystems. Secrets look real and never
 * are. Everything is a pure function of `(seed, vmid)` so a 500-guest lab builds lazily and reproducibly.
 */
import type { Rng } from "../state/Rng.js"
import type { DockerContainerSpec, Guest, Unit } from "../state/types.js"

/** A seeded file: content and mode (owner defaults to root). */
export interface SeedFile {
  readonly content: string
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  /** Symlink target instead of content. */
  readonly link?: string
}

/** path -> file */
export type SeedTree = Record<string, SeedFile>

const b64 = (rng: Rng, bytes: number): string => Buffer.from(Array.from({ length: bytes }, () => rng.int(0, 255))).toString("base64")
const alnum = (rng: Rng, n: number): string => {
  const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
  let s = ""
  for (let i = 0; i < n; i++) s += a[rng.int(0, a.length - 1)]
  return s
}
const b64url = (s: string) => Buffer.from(s).toString("base64url")

/** A JWT-shaped fake token. */
export const fakeJwt = (rng: Rng, sub: string): string =>
  `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify({ sub, iat: 1767225600 + rng.int(0, 9999999) }))}.${alnum(rng, 43)}`

/** A PEM-shaped fake private key. */
export const fakePem = (rng: Rng): string => {
  const body = b64(rng, 1190).match(/.{1,64}/g)!.join("\n")
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`
}

const osRelease = (os: Guest["os"]): string => {
  switch (os) {
    case "alpine-3.20":
      return 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\nHOME_URL="https://alpinelinux.org/"\nBUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n'
    case "ubuntu-24.04":
      return 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.1 LTS (Noble Numbat)"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nHOME_URL="https://www.ubuntu.com/"\nUBUNTU_CODENAME=noble\n'
    case "debian-13":
      return 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nVERSION="13 (trixie)"\nVERSION_CODENAME=trixie\nDEBIAN_VERSION_FULL=13.2\nID=debian\nHOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\nBUG_REPORT_URL="https://bugs.debian.org/"\n'
    default:
      return 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\nBUG_REPORT_URL="https://bugs.debian.org/"\n'
  }
}

const passwd = (alpine: boolean) =>
  alpine
    ? "root:x:0:0:root:/root:/bin/ash\nbin:x:1:1:bin:/bin:/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"
    : "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n_apt:x:100:65534::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\n"

const group = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nadm:x:4:\nvideo:x:44:\nwww-data:x:33:\nrender:x:104:\nnogroup:x:65534:\n"

/** The host machine's own files (not /etc/pve, which is a view of state). */
export const hostFiles = (options: {
  readonly rng: Rng
  readonly nodeName: string
  readonly ip: string
  readonly cidr: string
  readonly gateway: string
  readonly hostPublicKey: string
}): SeedTree => {
  const { rng, nodeName, ip } = options
  const prefix = options.cidr.split("/")[1] ?? "24"
  return {
    "/etc/hostname": { content: `${nodeName}\n` },
    "/etc/hosts": {
      content: `127.0.0.1 localhost.localdomain localhost\n${ip} ${nodeName}.home.arpa ${nodeName}\n\n# The following lines are desirable for IPv6 capable hosts\n::1     ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\nff02::3 ip6-allhosts\n`
    },
    "/etc/os-release": { content: osRelease("debian-13") },
    "/etc/debian_version": { content: "13.2\n" },
    "/etc/passwd": { content: passwd(false) },
    "/etc/group": { content: group },
    "/etc/shadow": { content: `root:$y$j9T$${alnum(rng, 22)}$${alnum(rng, 43)}:20400:0:99999:7:::\ndaemon:*:20400:0:99999:7:::\n`, mode: 0o640, gid: 42 },
    "/etc/resolv.conf": { content: `search home.arpa\nnameserver ${options.gateway}\n` },
    "/etc/timezone": { content: "Etc/UTC\n" },
    "/etc/fstab": { content: "# <file system> <mount point> <type> <options> <dump> <pass>\n/dev/pve/root / ext4 errors=remount-ro 0 1\nUUID=3A1C-2B7F /boot/efi vfat defaults 0 1\n/dev/pve/swap none swap sw 0 0\nproc /proc proc defaults 0 0\n" },
    "/etc/network/interfaces": {
      content: `auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress ${ip}/${prefix}\n\tgateway ${options.gateway}\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\tbridge-vlan-aware yes\n\tbridge-vids 2-4094\n\nsource /etc/network/interfaces.d/*\n`
    },
    "/etc/network/interfaces.d/.keep": { content: "" },
    "/etc/apt/sources.list.d/debian.sources": {
      content: "Types: deb\nURIs: http://deb.debian.org/debian/\nSuites: trixie trixie-updates\nComponents: main contrib non-free-firmware\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://security.debian.org/debian-security/\nSuites: trixie-security\nComponents: main contrib non-free-firmware\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    },
    "/etc/apt/sources.list.d/proxmox.sources": {
      content: "Types: deb\nURIs: http://download.proxmox.com/debian/pve\nSuites: trixie\nComponents: pve-no-subscription\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg\n"
    },
    "/etc/ssh/sshd_config": { content: "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem sftp /usr/lib/openssh/sftp-server\n" },
    "/etc/ssh/ssh_host_ed25519_key.pub": { content: `${options.hostPublicKey}\n` },
    "/etc/ssh/ssh_host_ed25519_key": { content: "-----BEGIN OPENSSH PRIVATE KEY-----\n(sandbox: the served host key is held in memory, not here)\n-----END OPENSSH PRIVATE KEY-----\n", mode: 0o600 },
    "/etc/ssl/private/ssl-cert-snakeoil.key": { content: fakePem(rng), mode: 0o640 },
    "/etc/vzdump.conf": { content: "# vzdump default settings\n\n#tmpdir: DIR\n#dumpdir: DIR\n#storage: STORAGE_ID\n#mode: snapshot|suspend|stop\n#bwlimit: KBPS\n#performance: [max-workers=N][,pbs-entries-max=N]\n#ionice: PRI\n#lockwait: MINUTES\n#stopwait: MINUTES\n#stdexcludes: BOOLEAN\n#mailto: ADDRESSLIST\n#prune-backups: keep-INTERVAL=N[,...]\n#script: FILENAME\n#exclude-path: PATHLIST\n#pigz: N\n#notes-template: {{guestname}}\n#pbs-change-detection-mode: legacy|data|metadata\n#fleecing: enabled=BOOLEAN,storage=STORAGE_ID\n" },
    "/etc/mtab": { content: "", link: "../proc/self/mounts" },
    "/etc/lvm/lvm.conf": { content: "config {\n\tcheckconfig = 1\n}\ndevices {\n\tglobal_filter=[\"r|/dev/zd.*|\",\"r|/dev/rbd.*|\"]\n}\n" },
    "/etc/.pwd.lock": { content: "", mode: 0o600 },
    "/etc/cron.d/.placeholder": { content: "# DO NOT EDIT OR REMOVE\n" },
    "/root/.bashrc": { content: "# ~/.bashrc: executed by bash(1) for non-login shells.\nexport LS_OPTIONS='--color=auto'\nalias ls='ls $LS_OPTIONS'\n" },
    "/root/.profile": { content: 'if [ "$BASH" ]; then\n  if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\n  fi\nfi\nmesg n 2> /dev/null || true\n' },
    "/root/.ssh/authorized_keys": { content: "", link: "/etc/pve/priv/authorized_keys" },
    "/root/.ssh/known_hosts": { content: "", mode: 0o600 },
    "/tmp/.keep": { content: "" },
    "/var/log/pveproxy/access.log": { content: `::ffff:${options.gateway} - root@pam [02/03/2026:09:00:05 +0000] "GET /api2/json/cluster/resources HTTP/1.1" 200 1873\n` },
    "/var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst": { content: "(template archive)\n" },
    "/var/lib/vz/dump/.keep": { content: "" },
    "/usr/share/perl5/PVE/CLI/pct.pm": { content: "package PVE::CLI::pct;\n# (sandbox placeholder)\n1;\n" }
  }
}

// -------------------------------------------------------------------------------------------------
// Guests
// -------------------------------------------------------------------------------------------------

const debianBase = (g: Guest, hostname: string): SeedTree => ({
  "/etc/hostname": { content: `${hostname}\n` },
  "/etc/hosts": { content: `127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n${g.ip}\t${hostname}.home.arpa ${hostname}\n` },
  "/etc/os-release": { content: "", link: "../usr/lib/os-release" },
  "/usr/lib/os-release": { content: osRelease(g.os) },
  "/etc/debian_version": { content: g.os === "debian-13" ? "13.2\n" : "12.8\n" },
  "/etc/passwd": { content: passwd(false) },
  "/etc/group": { content: group },
  "/etc/shadow": { content: "root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n", mode: 0o640, gid: 42 },
  "/etc/resolv.conf": { content: "search home.arpa\nnameserver 192.168.1.1\n" },
  "/etc/timezone": { content: "Etc/UTC\n" },
  "/etc/network/interfaces": { content: "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n" },
  "/etc/apt/sources.list": { content: `deb http://deb.debian.org/debian ${g.os === "debian-13" ? "trixie" : "bookworm"} main contrib\ndeb http://deb.debian.org/debian ${g.os === "debian-13" ? "trixie" : "bookworm"}-updates main contrib\ndeb http://security.debian.org ${g.os === "debian-13" ? "trixie" : "bookworm"}-security main contrib\n` },
  "/etc/ssh/sshd_config": { content: "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin prohibit-password\nKbdInteractiveAuthentication no\nUsePAM yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n" },
  "/etc/systemd/system/multi-user.target.wants/.keep": { content: "" },
  "/etc/cron.d/e2scrub_all": { content: "30 3 * * 0 root test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron\n" },
  "/root/.bashrc": { content: "# ~/.bashrc\nexport PS1='\\h:\\w\\$ '\n" },
  "/tmp/.keep": { content: "" },
  "/var/log/dpkg.log": { content: "2026-02-20 08:11:02 startup archives unpack\n2026-02-20 08:11:04 upgrade libc6:amd64 2.36-9+deb12u8 2.36-9+deb12u9\n" }
})

const alpineBase = (g: Guest, hostname: string): SeedTree => ({
  "/etc/hostname": { content: `${hostname}\n` },
  "/etc/hosts": { content: `127.0.0.1\tlocalhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n${g.ip}\t${hostname}\n` },
  "/etc/os-release": { content: osRelease("alpine-3.20") },
  "/etc/alpine-release": { content: "3.20.3\n" },
  "/etc/passwd": { content: passwd(true) },
  "/etc/group": { content: "root:x:0:root\nbin:x:1:root,bin,daemon\nnobody:x:65534:\n" },
  "/etc/shadow": { content: "root:*::0:::::\n", mode: 0o640, gid: 42 },
  "/etc/resolv.conf": { content: "nameserver 192.168.1.1\n" },
  "/etc/network/interfaces": { content: "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n" },
  "/etc/apk/repositories": { content: "https://dl-cdn.alpinelinux.org/alpine/v3.20/main\nhttps://dl-cdn.alpinelinux.org/alpine/v3.20/community\n" },
  "/etc/apk/world": { content: "alpine-base\nopenssh\n" },
  "/etc/inittab": { content: "::sysinit:/sbin/openrc sysinit\n::sysinit:/sbin/openrc boot\n::wait:/sbin/openrc default\n" },
  "/etc/motd": { content: "Welcome to Alpine!\n" },
  "/root/.ash_history": { content: "apk update\napk upgrade\n", mode: 0o600 },
  "/tmp/.keep": { content: "" },
  "/var/log/messages": { content: "Mar  2 08:59:01 lab-alpine syslog.info syslogd started: BusyBox v1.36.1\n" }
})

/** Role-specific files (apps, compose projects, secrets). */
const roleFiles = (g: Guest, rng: Rng): SeedTree => {
  switch (g.role) {
    case "dns":
      return {
        "/opt/AdGuardHome/AdGuardHome.yaml": {
          content: `http:\n  address: 0.0.0.0:80\nusers:\n  - name: admin\n    password: $2y$10$${alnum(rng, 53)}\ndns:\n  bind_hosts:\n    - 0.0.0.0\n  port: 53\n  upstream_dns:\n    - https://dns.quad9.net/dns-query\n    - https://1.1.1.1/dns-query\nfiltering:\n  rewrites:\n    - domain: pve.home.arpa\n      answer: 192.168.1.10\n`,
          mode: 0o600
        },
        "/etc/systemd/system/AdGuardHome.service": {
          content: "[Unit]\nDescription=AdGuard Home: Network-level blocker\nAfter=network.target\n\n[Service]\nExecStart=/opt/AdGuardHome/AdGuardHome -s run\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n"
        },
        "/var/log/AdGuardHome.log": { content: "2026/03/02 09:00:03.114120 [info] AdGuard Home, version v0.107.57\n2026/03/02 09:00:03.201932 [info] go to http://127.0.0.1:80\n" }
      }
    case "web":
      return {
        "/etc/nginx/nginx.conf": { content: "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\nevents {\n\tworker_connections 768;\n}\nhttp {\n\tsendfile on;\n\tinclude /etc/nginx/mime.types;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n" },
        "/etc/nginx/sites-available/default": { content: "server {\n\tlisten 80 default_server;\n\troot /var/www/html;\n\tindex index.html;\n\tserver_name _;\n\tlocation / {\n\t\ttry_files $uri $uri/ =404;\n\t}\n}\n" },
        "/etc/nginx/sites-enabled/default": { content: "", link: "/etc/nginx/sites-available/default" },
        "/var/www/html/index.html": { content: "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n", uid: 33, gid: 33 },
        "/var/log/nginx/access.log": { content: `192.168.1.50 - - [02/Mar/2026:09:01:12 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0"\n`, uid: 33, gid: 4, mode: 0o640 },
        "/var/log/nginx/error.log": { content: "", uid: 33, gid: 4, mode: 0o640 },
        "/etc/app/config.env": { content: `DATABASE_URL=postgres://app:${alnum(rng, 20)}@db.home.arpa:5432/app\nSESSION_SECRET=${alnum(rng, 48)}\n`, mode: 0o600 }
      }
    case "docker":
      return dockerHostFiles(g, rng)
    default:
      return {
        "/etc/motd": { content: "\nThe programs included with the Debian GNU/Linux system are free software.\n" }
      }
  }
}

/** Compose projects and docker daemon files of a docker-host guest. */
const dockerHostFiles = (g: Guest, rng: Rng): SeedTree => {
  const tree: SeedTree = {
    "/etc/docker/daemon.json": { content: '{\n  "log-driver": "json-file",\n  "log-opts": { "max-size": "10m", "max-file": "3" }\n}\n' }
  }
  const projects = new Map<string, Array<DockerContainerSpec>>()
  for (const c of g.docker) {
    const list = projects.get(c.project) ?? []
    list.push(c)
    projects.set(c.project, list)
  }
  for (const [project, containers] of projects) {
    let compose = "services:\n"
    const env: Array<string> = []
    for (const c of containers) {
      compose += `  ${c.service}:\n    image: ${c.image}\n    container_name: ${c.name}\n    restart: unless-stopped\n`
      if (c.networkMode) compose += `    network_mode: "${c.networkMode}"\n`
      if (c.ports.length > 0 && !c.networkMode) compose += `    ports:\n${c.ports.map((p) => `      - "${p}"\n`).join("")}`
      const envKeys = Object.keys(c.env)
      if (envKeys.length > 0) compose += `    environment:\n${envKeys.map((k) => `      - ${k}=\${${k}}\n`).join("")}`
      if (c.mounts.length > 0) {
        compose += `    volumes:\n${c.mounts.filter((m) => m.type !== "tmpfs").map((m) => `      - ${m.source}:${m.destination}\n`).join("")}`
      }
      for (const [k, v] of Object.entries(c.env)) env.push(`${k}=${v}`)
    }
    const volumes = containers.flatMap((c) => c.mounts.filter((m) => m.type === "volume").map((m) => m.source))
    if (volumes.length > 0) compose += `volumes:\n${[...new Set(volumes)].map((v) => `  ${v}:\n`).join("")}`
    tree[`/opt/stacks/${project}/compose.yaml`] = { content: compose }
    tree[`/opt/stacks/${project}/.env`] = { content: `${env.join("\n")}\n`, mode: 0o600 }
    for (const c of containers) {
      for (const m of c.mounts) {
        if (m.type === "bind" && m.source.startsWith("/opt/stacks/")) tree[`${m.source}/.keep`] = { content: "" }
      }
    }
  }
  tree["/opt/stacks/infra/caddy/Caddyfile"] = { content: `{\n\temail admin@home.arpa\n}\n\nhome.home.arpa {\n\treverse_proxy homepage:3000\n}\n\nstatus.home.arpa {\n\treverse_proxy uptime-kuma:3001\n\tbasicauth {\n\t\tadmin $2a$14$${alnum(rng, 53)}\n\t}\n}\n` }
  tree["/opt/stacks/media/gluetun/wg0.conf"] = {
    content: `[Interface]\nPrivateKey = ${b64(rng, 32)}\nAddress = 10.64.${rng.int(0, 255)}.${rng.int(2, 254)}/32\nDNS = 10.64.0.1\n\n[Peer]\nPublicKey = ${b64(rng, 32)}\nAllowedIPs = 0.0.0.0/0\nEndpoint = 185.65.134.${rng.int(2, 254)}:51820\n`,
    mode: 0o600
  }
  tree["/opt/stacks/media/qbittorrent/qBittorrent.conf"] = {
    content: `[Preferences]\nWebUI\\Port=8080\nWebUI\\Username=admin\nWebUI\\Password_PBKDF2="@ByteArray(${b64(rng, 16)}:${b64(rng, 64)})"\n`
  }
  tree["/opt/stacks/media/sonarr/config.xml"] = { content: `<Config>\n  <Port>8989</Port>\n  <ApiKey>${rng.hex(32)}</ApiKey>\n  <AuthenticationMethod>Forms</AuthenticationMethod>\n</Config>\n` }
  tree["/opt/stacks/media/radarr/config.xml"] = { content: `<Config>\n  <Port>7878</Port>\n  <ApiKey>${rng.hex(32)}</ApiKey>\n</Config>\n` }
  tree["/opt/stacks/tools/dozzle/users.yml"] = { content: `users:\n  admin:\n    name: Admin\n    password: $2a$11$${alnum(rng, 53)}\n    token: ${fakeJwt(rng, "admin")}\n` }
  tree["/opt/stacks/infra/homepage/services.yaml"] = { content: `- Infra:\n    - Portainer:\n        href: https://portainer.home.arpa\n        widget:\n          type: portainer\n          url: https://portainer:9443\n          key: ptr_${alnum(rng, 40)}\n    - Proxmox:\n        href: https://pve.home.arpa:8006\n        widget:\n          type: proxmox\n          url: https://192.168.1.10:8006\n          username: homepage@pve!homepage\n          password: ${rng.uuid()}\n` }
  tree["/opt/stacks/infra/tailscale/state/tailscaled.state"] = { content: `{"_machinekey":"privkey:${rng.hex(64)}"}\n`, mode: 0o600 }
  return tree
}

/** Files of a guest machine. */
export const guestFiles = (g: Guest, rng: Rng, hostname: string): SeedTree => {
  const alpine = g.os.startsWith("alpine")
  return { ...(alpine ? alpineBase(g, hostname) : debianBase(g, hostname)), ...roleFiles(g, rng) }
}

/** Units of a guest (systemd guests only). */
export const guestUnits = (g: Guest, rng: Rng, startedAt: number): Array<Unit> => {
  if (g.os.startsWith("alpine")) return []
  const unit = (name: string, description: string, active = true): Unit => ({
    name,
    description,
    activeState: active ? "active" : "failed",
    subState: active ? "running" : "failed",
    unitFileState: "enabled",
    mainPid: active ? rng.int(100, 900) : 0,
    activeEnterTimestamp: Math.floor(startedAt) + rng.int(1, 5)
  })
  const units = [
    unit("systemd-journald.service", "Journal Service"),
    unit("systemd-networkd.service", "Network Configuration"),
    unit("ssh.service", "OpenBSD Secure Shell server"),
    unit("cron.service", "Regular background program processing daemon"),
    unit("postfix@-.service", "Postfix Mail Transport Agent (instance -)")
  ]
  if (g.role === "dns") units.push(unit("AdGuardHome.service", "AdGuard Home: Network-level blocker"))
  if (g.role === "web") units.push(unit("nginx.service", "A high performance web server and a reverse proxy server"))
  if (g.role === "docker") {
    units.push(unit("docker.service", "Docker Application Container Engine"), unit("containerd.service", "containerd container runtime"))
  }
  if (g.role === "web" || g.type === "qemu") units.push(unit("qemu-guest-agent.service", "QEMU Guest Agent"))
  return units
}
