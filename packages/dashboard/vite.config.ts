/**
 * The dashboard's build: one static folder (dist/) with relative asset paths, so that the CLI's
 * server, or any static server, can serve it from wherever it is installed.
 */
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: false },
});
