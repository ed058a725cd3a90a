import { ConfigError } from '../../errors.ts';

export { checkEnvKey, checkGuestPath, checkImageRef } from '../../engine/validate.ts';

/** smolvm's `validate_vm_name`: checked here so a bad name never reaches a spawn. */
export function checkMachineName(name: string): string {
  const problem =
    name.length === 0 || name.length > 128
      ? 'must be 1-128 characters'
      : !/^[A-Za-z0-9_-]+$/.test(name)
        ? 'may contain only letters, digits, "_" and "-"'
        : !/^[A-Za-z0-9]/.test(name)
          ? 'must start with a letter or digit'
          : name.endsWith('-')
            ? 'must not end with "-"'
            : name.includes('--')
              ? 'must not contain "--"'
              : undefined;
  if (problem) throw new ConfigError(`invalid machine name ${JSON.stringify(name)}: ${problem}`, [{ path: 'name', message: problem }]);
  return name;
}

/** smolvm reads any `:` in a cp operand as `MACHINE:PATH`, so a host path with one would be misread. */
export function checkHostPath(path: string, field = 'host path'): string {
  const problem = path.length === 0 ? 'must not be empty' : path.includes(':') ? 'must not contain ":" (smolvm would read it as MACHINE:PATH)' : undefined;
  if (problem) throw new ConfigError(`invalid ${field} ${JSON.stringify(path)}: ${problem}`, [{ path: field, message: problem }]);
  return path;
}
