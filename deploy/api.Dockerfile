# syntax=docker/dockerfile:1
# The API role of the farm (read API, jobs, web UI; no rendering), on the slim ASP.NET Core runtime.
# It carries no CUDA: MicroscopeCudaProvider=false leaves ONNX Runtime's CUDA and TensorRT provider
# libraries (285 MB) out of the publish output (Directory.Build.targets, DropOnnxRuntimeGpuProviders).
#
#   docker build -f deploy/api.Dockerfile -t microscope-farm-api:dev .      (from the repository root)

# The PP-OCR organisms come from npm; installed here from the lock file so the SDK stage needs no Node.
FROM node:22-bookworm-slim AS organisms
WORKDIR /src/organisms
COPY organisms/package.json organisms/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
# The web UI's graph layout (dagre) too, from its own lock file.
WORKDIR /src/ui
COPY src/Microscope.Farm.Api/ui/package.json src/Microscope.Farm.Api/ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY organisms/ organisms/
COPY --from=organisms /src/organisms/node_modules organisms/node_modules
COPY src/ src/
COPY --from=organisms /src/ui/node_modules src/Microscope.Farm.Api/ui/node_modules
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Microscope.Farm.Host/Microscope.Farm.Host.csproj -c Release -r linux-x64 --self-contained false \
      -p:MicroscopeCudaProvider=false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS final
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown 1654:1654 /data
WORKDIR /app
COPY --from=build /app ./
# Settings are Farm__* variables (docs/operations.md). Clustering, the store's connection string and
# the advertised address (an IP the other silos reach this one at) come from the deployment.
ENV Farm__Role=api \
    Farm__Http__Url=http://0.0.0.0:8080 \
    Farm__Cluster__SiloPort=11111 \
    Farm__Cluster__GatewayPort=30000 \
    Farm__Store__Path=/data \
    DOTNET_ENVIRONMENT=Production
# The image's unprivileged user "app", by number so that Kubernetes' runAsNonRoot can check it.
USER 1654:1654
# 8080: API, UI, /healthz, /alive, /metrics; 11111: silo-to-silo; 30000: Orleans gateway.
EXPOSE 8080 11111 30000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["dotnet", "microscope-farm.dll"]
