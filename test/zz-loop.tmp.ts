import { baseConfig, runStack } from "./harness";
(async () => {
    for (let i = 0; i < 10; i++) await runStack(baseConfig());
    const t = process.cpuUsage();
    const n = Number(process.env.N ?? 50);
    for (let i = 0; i < n; i++) await runStack(baseConfig());
    const u = process.cpuUsage(t);
    console.log(`${process.execArgv.filter((a) => a.startsWith("--max")).join(" ") || "default"}: per run ${((u.user + u.system) / 1e3 / n).toFixed(1)} ms cpu`);
})();
