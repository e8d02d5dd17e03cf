import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXTERNAL_ID, ROLE_ARN, ROLE_SESSION_TOKEN, ROLE_TEMP_KEY_ID, ROLE_TEMP_SECRET } from './constants.js';

export interface AssumeRoleCall {
  roleArn: string | null;
  externalId: string | null;
  roleSessionName: string | null;
  durationSeconds: string | null;
  /** Access key id the caller signed with. */
  callerKeyId: string | undefined;
}

/**
 * A local STS endpoint answering AssumeRole in AWS's XML shape. It records each
 * call and enforces the role's trust policy: the known role ARN, the external ID,
 * and a caller from `allowedCallers`.
 */
export class StsServer {
  readonly calls: AssumeRoleCall[] = [];
  /** Seconds until the issued credentials expire. */
  credentialLifetimeSeconds = 3600;
  private server: Server | undefined;
  private readonly allowedCallers: Set<string>;

  constructor(allowedCallers: string[]) {
    this.allowedCallers = new Set(allowedCallers);
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const params = new URLSearchParams(body);
        const callerKeyId = /Credential=([^/]+)\//.exec(request.headers.authorization ?? '')?.[1];
        const call: AssumeRoleCall = {
          roleArn: params.get('RoleArn'),
          externalId: params.get('ExternalId'),
          roleSessionName: params.get('RoleSessionName'),
          durationSeconds: params.get('DurationSeconds'),
          callerKeyId,
        };
        this.calls.push(call);
        response.setHeader('content-type', 'text/xml');
        if (params.get('Action') !== 'AssumeRole') return this.error(response, 400, 'InvalidAction', 'only AssumeRole is served here');
        if (callerKeyId === undefined || !this.allowedCallers.has(callerKeyId)) {
          return this.error(response, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
        }
        if (call.roleArn !== ROLE_ARN || call.externalId !== EXTERNAL_ID) {
          return this.error(response, 403, 'AccessDenied', `User is not authorized to perform: sts:AssumeRole on resource: ${call.roleArn}`);
        }
        const expiration = new Date(Date.now() + this.credentialLifetimeSeconds * 1000).toISOString();
        response.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><AssumedRoleId>AROATEST:${call.roleSessionName}</AssumedRoleId><Arn>${ROLE_ARN}/${call.roleSessionName}</Arn></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${ROLE_TEMP_KEY_ID}</AccessKeyId>
      <SecretAccessKey>${ROLE_TEMP_SECRET}</SecretAccessKey>
      <SessionToken>${ROLE_SESSION_TOKEN}</SessionToken>
      <Expiration>${expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</AssumeRoleResponse>`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private error(response: import('node:http').ServerResponse, status: number, code: string, message: string): void {
    response.statusCode = status;
    response.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>0</RequestId></ErrorResponse>`);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
