"""FastAPI with a pydantic model, run on Lambda through Mangum.

    GET  /.netlify/functions/fastapi-app          -> 200 service info
    GET  /.netlify/functions/fastapi-app/items    -> 200 list of items
    POST /.netlify/functions/fastapi-app/items    -> 201 validated item (422 if invalid)
    GET  /.netlify/functions/fastapi-app/items/1  -> 200 one item, 404 if unknown

Mangum picks its adapter from the event's keys. An API Gateway REST (v1) event
must carry both ``resource`` and ``requestContext`` (it reads
``requestContext.identity.sourceIp`` for the client address), besides
``httpMethod``, ``path``, ``headers``, ``body`` and ``isBase64Encoded``;
otherwise it raises "The adapter was unable to infer a handler to use for the event".
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from mangum import Mangum
from pydantic import BaseModel, Field, field_validator

BASE_PATH = "/.netlify/functions/fastapi-app"


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    price: float = Field(gt=0)
    tags: list[str] = []

    @field_validator("name")
    @classmethod
    def tidy_name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("name must not be blank")
        return value.title()


class StoredItem(Item):
    id: int


ITEMS: dict[int, StoredItem] = {1: StoredItem(id=1, name="Towel", price=9.5)}

app = FastAPI(title="sample-site fastapi-app")


# Mangum turns the bare base path into "", which Starlette would redirect to "/".
@app.get("", include_in_schema=False)
@app.get("/")
def index() -> dict[str, object]:
    return {"service": "fastapi-app", "items": len(ITEMS)}


@app.get("/items")
def list_items() -> list[StoredItem]:
    return list(ITEMS.values())


@app.post("/items", status_code=201)
def create_item(item: Item) -> StoredItem:
    stored = StoredItem(id=max(ITEMS, default=0) + 1, **item.model_dump())
    ITEMS[stored.id] = stored
    return stored


@app.get("/items/{item_id}")
def get_item(item_id: int) -> StoredItem:
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return ITEMS[item_id]


# Mangum strips BASE_PATH from the event's path before routing; lifespan is
# off because the app has no startup/shutdown work.
handler = Mangum(app, lifespan="off", api_gateway_base_path=BASE_PATH)
