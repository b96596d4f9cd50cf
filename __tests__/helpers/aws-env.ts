// Fake AWS credentials for tests whose real AWS SDK client talks to a local stand-in (cloudwatch-stub,
// cloudwatch-logs-stub): the SDK's standard credential chain reads these environment variables first, signs with
// them, and the stubs never check the signature. The instance metadata lookup and any local profile are switched
// off so a developer's own AWS setup cannot leak into a test. Everything is restored after the file's tests.
import { afterAll, beforeAll } from 'vitest';

const KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_PROFILE',
];

/** Call at the top level of a test file: sets fake AWS credentials before its tests and restores the environment after. */
export function useFakeAwsCredentials(): void {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const k of KEYS) saved[k] = process.env[k];
    process.env.AWS_ACCESS_KEY_ID = 'AKIDPERFGATETEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret-key-for-tests';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}
