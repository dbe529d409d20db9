/** Fails with one clear line unless running on Node 24+ (npm scripts get it from the node@24 devDependency). */
export function checkNodeVersion(): void {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 24) {
    console.error(
      `Tessera needs Node 24; this is Node ${process.versions.node}. Run it through npm (npm test, npm start), which uses the node@24 devDependency, after npm install.`,
    );
    process.exit(1);
  }
}
