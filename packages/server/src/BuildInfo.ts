/**
 * Version and git sha, embedded at build time by esbuild `define` (scripts/build.mjs); running from
 * source they read the package version and "dev".
 */
declare const __HOMELAB_MCP_VERSION__: string | undefined
declare const __HOMELAB_MCP_GIT_SHA__: string | undefined

/** The server version (package.json of @homelab-mcp/server). */
export const version: string = typeof __HOMELAB_MCP_VERSION__ === "string" ? __HOMELAB_MCP_VERSION__ : "0.1.0"

/** The short git sha of the build, or "dev" when run from source. */
export const gitSha: string = typeof __HOMELAB_MCP_GIT_SHA__ === "string" ? __HOMELAB_MCP_GIT_SHA__ : "dev"
