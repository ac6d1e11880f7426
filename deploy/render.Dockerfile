# syntax=docker/dockerfile:1
# A render silo of the farm on CUDA: ONNX Runtime 1.31's GPU build needs CUDA 13 and cuDNN 9, which
# this base image has; the program is published self-contained, so the image needs no .NET install.
# Without a GPU (or with Farm__Render__Device=cpu) it renders on the CPU.
#
#   docker build -f deploy/render.Dockerfile -t microscope-farm-render:dev .   (from the repository root)
#   docker run --gpus all -e Farm__Render__Device=cuda:0 ... microscope-farm-render:dev

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
    dotnet publish src/Microscope.Farm.Host/Microscope.Farm.Host.csproj -c Release -r linux-x64 --self-contained true -o /app

FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 AS final
# curl for the health check (it brings libssl, which HTTPS to Azure Storage needs); DejaVu Sans for the
# labels of tuning-curve plots; the program runs as an unprivileged user that owns only its data folder.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1654 farm \
    && useradd --uid 1654 --gid 1654 --no-create-home --home-dir /app --shell /usr/sbin/nologin farm \
    && mkdir -p /data && chown 1654:1654 /data
WORKDIR /app
COPY --from=build /app ./
# Settings are Farm__* variables (docs/operations.md). Clustering, the store's connection string and
# the advertised address (an IP the other silos reach this one at) come from the deployment.
ENV Farm__Role=render \
    Farm__Http__Url=http://0.0.0.0:8080 \
    Farm__Cluster__SiloPort=11111 \
    Farm__Cluster__GatewayPort=30000 \
    Farm__Store__Path=/data \
    Farm__Render__Device=cuda:0 \
    DOTNET_ENVIRONMENT=Production \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# By number (the same as the API image's) so that Kubernetes' runAsNonRoot can check it.
USER 1654:1654
# 8080: /healthz, /alive, /metrics; 11111: silo-to-silo; 30000: Orleans gateway.
EXPOSE 8080 11111 30000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/app/microscope-farm"]
