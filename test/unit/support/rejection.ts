/** The error a promise rejects with (what a dynamic provider hands the engine: its message is the gRPC message); fails if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (err) {
        return err as Error;
    }
    throw new Error("expected a failure");
}
