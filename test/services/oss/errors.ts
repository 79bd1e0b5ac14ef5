import type { XmlNode } from './xml';

/** An OSS error response: HTTP status, Code, Message, and the extra elements some codes carry. */
export class OssError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra elements after RequestId/HostId (e.g. StringToSign for SignatureDoesNotMatch). */
    readonly details: XmlNode[] = [],
    /** Extra response headers (e.g. x-oss-next-append-position for PositionNotEqualToLength). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = `${code}Error`;
  }
}

// One factory per code the server returns, with OSS's status and wording.

export const noSuchBucket = (bucket: string) => new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', [['BucketName', bucket]]);

export const noSuchKey = (key: string) => new OssError(404, 'NoSuchKey', 'The specified key does not exist.', [['Key', key]]);

export const noSuchUpload = (uploadId: string) =>
  new OssError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', [
    ['UploadId', uploadId],
  ]);

export const invalidArgument = (message: string, name?: string, value?: string) =>
  new OssError(
    400,
    'InvalidArgument',
    message,
    name === undefined
      ? []
      : [
          ['ArgumentName', name],
          ['ArgumentValue', value ?? ''],
        ],
  );

export const invalidBucketName = (bucket: string) => new OssError(400, 'InvalidBucketName', 'The specified bucket is not valid.', [['BucketName', bucket]]);

export const invalidObjectName = (message: string) => new OssError(400, 'InvalidObjectName', message);

export const malformedXml = (why: string) =>
  new OssError(400, 'MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: ${why}`);

export const accessDenied = (message: string) => new OssError(403, 'AccessDenied', message);

export const invalidAccessKeyId = (accessKeyId: string) =>
  new OssError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', [['OSSAccessKeyId', accessKeyId]]);

export const notImplemented = (what: string) => new OssError(501, 'NotImplemented', `${what} is not implemented by this local OSS server.`);

export const methodNotAllowed = (method: string, resource: string) =>
  new OssError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', [
    ['Method', method],
    ['ResourceType', resource],
  ]);
