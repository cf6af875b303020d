import type { BuildOptions } from "esbuild"
/** esbuild options of the homelab-mcp bin. */
export declare const bundleOptions: BuildOptions
