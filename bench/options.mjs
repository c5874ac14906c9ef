// Options of the bench programs: `--name value` or `--name=value` on the command line, else the environment
// variable BENCH_<NAME> (upper case, dashes as underscores), else the default.
const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  let k = argv[i];
  if (!k.startsWith('--')) continue;
  k = k.slice(2);
  let v;
  if (k.includes('=')) [k, v] = k.split(/=(.*)/s);
  else v = argv[++i];
  args[k] = v;
}

/** The value of option `name`, or `def`. */
export function opt(name, def) {
  if (args[name] !== undefined) return args[name];
  const env = 'BENCH_' + name.toUpperCase().replace(/-/g, '_');
  if (process.env[env] !== undefined) return process.env[env];
  return def;
}

/** The etcd endpoint to measure against (`--endpoint`, default 127.0.0.1:$BENCH_PORT or 23790). */
export const endpointOption = () => String(opt('endpoint', `127.0.0.1:${process.env.BENCH_PORT || 23790}`));
