// What keeps `queries:` harmless, beyond the read-only transaction each one runs in. A read-only transaction does
// not stop a function that acts on another session or on the server: pg_terminate_backend killed another session,
// pg_advisory_lock held a lock until perf-gate disconnected, COPY ... TO PROGRAM ran a program on the database
// server. So three layers: the role is checked before any query runs (a superuser, or a member of a role that can
// run programs, write server files or signal backends, is refused, naming the grant to remove); statements that
// call such functions are refused by name when the config is read; and each batch of queries runs on a session of
// its own that is closed afterwards, so nothing a query took (a lock, a setting) outlives it.

/** A function (or statement) a query may not use, with what it does, matched on the text without its comments. */
const REFUSED: Array<[RegExp, string]> = [
  [/\bpg_terminate_backend\b/, 'pg_terminate_backend (it ends other sessions)'],
  [/\bpg_cancel_backend\b/, "pg_cancel_backend (it cancels other sessions' queries)"],
  [/\bpg_(?:try_)?advisory_\w*/, 'advisory locks (pg_advisory_lock and its kin hold locks other sessions wait on)'],
  [
    /\blo_\w+\s*\(/,
    'large-object functions (lo_import, lo_export and the other lo_* read and write server files and objects)',
  ],
  [/\bdblink\w*/, 'dblink (it opens connections to other databases)'],
  [/\bcopy\b[\s\S]*\bprogram\b/, 'COPY ... PROGRAM (it runs a program on the database server)'],
  [
    /\bpg_(?:read_file|read_binary_file|ls_dir|ls_\w+dir|stat_file|file_write|reload_conf|rotate_logfile|promote|switch_wal)\b/,
    'server file and control functions (pg_read_file, pg_ls_dir, pg_reload_conf and the like)',
  ],
  [/^\s*(?:do|call)\b/, 'DO and CALL (they run code that returns no number)'],
];

/** SQL text without its comments (-- to the end of a line, /* ... *\/ nested), lower-cased, strings kept. */
function withoutComments(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      out += ' ';
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      out += ' ';
    } else if (c === "'" || c === '"') {
      // A quoted string or identifier is kept whole (a name in it still counts: a DO block's body is a string),
      // but a comment marker inside it is not a comment.
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? n : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out.toLowerCase();
}

/** Why a query may not run, naming what it uses; undefined when nothing it calls is refused. */
export function refusedSql(sql: string): string | undefined {
  const text = withoutComments(sql);
  for (const [re, what] of REFUSED) if (re.test(text)) return `uses ${what}; queries may only read`;
  return undefined;
}

/** The role checks, one row: the role's name, whether it is or acts as a superuser, and its dangerous memberships. */
export const ROLE_CHECK_SQL =
  `SELECT current_user::text AS role, ` +
  `(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, ` +
  `EXISTS (SELECT 1 FROM pg_roles s WHERE s.rolsuper AND s.rolname <> current_user AND pg_has_role(current_user, s.oid, 'MEMBER')) AS member_of_superuser, ` +
  ['pg_execute_server_program', 'pg_write_server_files', 'pg_signal_backend']
    .map(
      (r) =>
        `CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${r}') THEN pg_has_role(current_user, '${r}', 'MEMBER') ELSE false END AS ${r}`,
    )
    .join(', ');

export interface RoleCheckRow {
  role: string;
  superuser: boolean | null;
  member_of_superuser: boolean;
  pg_execute_server_program: boolean;
  pg_write_server_files: boolean;
  pg_signal_backend: boolean;
}

/**
 * Why this role may not run `queries:`, naming the role and the grant to remove; undefined for a least-privilege
 * role (pg_read_all_stats and SELECT on the tables read is all the queries need).
 */
export function roleProblem(row: RoleCheckRow): string | undefined {
  const role = JSON.stringify(row.role);
  const fix = 'connect as a role with only pg_read_all_stats and SELECT on the tables the queries read';
  if (row.superuser)
    return `role ${role} is a superuser (rolsuper): queries: are not run with it; ${fix} (or ALTER ROLE ${row.role} NOSUPERUSER)`;
  if (row.member_of_superuser)
    return `role ${role} is a member of a superuser role: queries: are not run with it; ${fix}`;
  const grants = (['pg_execute_server_program', 'pg_write_server_files', 'pg_signal_backend'] as const).filter(
    (g) => row[g],
  );
  if (grants.length > 0) {
    const what = {
      pg_execute_server_program: 'runs programs on the server',
      pg_write_server_files: 'writes server files',
      pg_signal_backend: 'ends other sessions',
    };
    return (
      `role ${role} is a member of ${grants.map((g) => `${g} (${what[g]})`).join(', ')}: queries: are not run with it; ` +
      `${grants.map((g) => `REVOKE ${g} FROM ${row.role}`).join('; ')}, or ${fix}`
    );
  }
  return undefined;
}

/** PostgreSQL's numeric types by OID: int2, int4, int8, oid, float4, float8, numeric. */
const NUMERIC_TYPES = new Set([21, 23, 20, 26, 700, 701, 1700]);
const TYPE_NAMES: Record<number, string> = {
  16: 'boolean',
  17: 'bytea',
  18: 'char',
  19: 'name',
  25: 'text',
  114: 'json',
  142: 'xml',
  705: 'unknown',
  790: 'money',
  1042: 'character',
  1043: 'character varying',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1186: 'interval',
  2950: 'uuid',
  3802: 'jsonb',
  869: 'inet',
  650: 'cidr',
  1009: 'text[]',
  1007: 'integer[]',
  1016: 'bigint[]',
};

export function isNumericType(oid: number): boolean {
  return NUMERIC_TYPES.has(oid);
}

export function typeName(oid: number): string {
  return TYPE_NAMES[oid] ?? `type OID ${oid}`;
}
