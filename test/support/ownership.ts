import { statSync } from 'node:fs';

/** A file's owner, group and permission bits as tests compare them: "uid:gid 640". */
export function ownershipOf(path: string): string {
  const st = statSync(path);
  return `${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`;
}
