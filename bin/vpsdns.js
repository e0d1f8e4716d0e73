#!/usr/bin/env node
// The `vpsdns` command: runs the compiled CLI (npm install / npm run build produce dist/).
import('../dist/cli.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('vpsdns: not built yet; run `npm install` (or `npm run build`) first');
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
