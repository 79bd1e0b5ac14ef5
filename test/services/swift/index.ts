// A local single-node OpenStack Swift (with s3api) for tests, driven by swift.sh beside this file
// (started and stopped through ../script-service).
import { ScriptService } from '../script-service';

export { ServiceUnavailableError } from '../script-service';

export interface SwiftService {
  /** Swift v1 auth (tempauth), e.g. http://127.0.0.1:8080/auth/v1.0 */
  authUrl: string;
  /** The proxy, which is also the S3 endpoint (path-style), e.g. http://127.0.0.1:8080 */
  endpoint: string;
  user: 'test:tester';
  key: 'testing';
  /** S3 credentials: tempauth's user and key. */
  accessKeyId: string;
  secretAccessKey: string;
  region: 'us-east-1';
  /** True when this process started the servers (and will stop them when it exits). */
  startedHere: boolean;
}

const service = new ScriptService({ name: 'swift', title: 'the local Swift' });

/**
 * Starts the local Swift once per process (later calls share the result). When this call started the
 * servers they are stopped, by PID, when the process exits; servers that were already running are left alone.
 */
export async function startSwift(): Promise<SwiftService> {
  const startedHere = await service.start();
  const port = process.env.STOWAGE_SWIFT_PORT || '8080';
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    authUrl: `${endpoint}/auth/v1.0`,
    endpoint,
    user: 'test:tester',
    key: 'testing',
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    region: 'us-east-1',
    startedHere,
  };
}
